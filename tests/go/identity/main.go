// Licensed under the Apache License, Version 2.0 (the "License"); you may
// not use this file except in compliance with the License. You may obtain
// a copy of the License at
//
//      http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
// WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
// License for the specific language governing permissions and limitations
// under the License.

// A gophercloud client of the functional tests, as the Terraform OpenStack
// provider is one: it signs in with gophercloud's clientconfig, which reads
// OS_CLOUD and clouds.yaml, or OS_AUTH_URL, OS_TOKEN, OS_PROJECT_ID and the
// rest, and prints as JSON what Keystone says of the token it got: its
// user, its project, its methods, and the projects the user may reach.
//
// Built with Debian's packages (golang-go, gophercloud 0.12 and its utils):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o identity .
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/tokens"
	"github.com/gophercloud/utils/openstack/clientconfig"
)

type report struct {
	UserID      string   `json:"user_id"`
	UserName    string   `json:"user_name"`
	ProjectID   string   `json:"project_id"`
	ProjectName string   `json:"project_name"`
	Methods     []string `json:"methods"`
	Projects    []string `json:"projects"`
	Endpoint    string   `json:"endpoint"`
	// Cloud is OS_CLOUD, and CloudAuthType the auth_type of its entry in
	// the clouds.yaml that clientconfig found ("" without OS_CLOUD).
	Cloud         string `json:"cloud"`
	CloudAuthType string `json:"cloud_auth_type"`
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "identity: %s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	client, err := clientconfig.NewServiceClient("identity", nil)
	if err != nil {
		fail("signing in", err)
	}
	token := client.ProviderClient.Token()

	// NOTE: ExtractInto reads what is under "token".
	var body struct {
		Methods []string `json:"methods"`
		User    struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	if err := tokens.Get(client, token).ExtractInto(&body); err != nil {
		fail("reading the token", err)
	}
	project, err := projects.Get(client, body.Project.ID).Extract()
	if err != nil {
		fail("reading the project", err)
	}
	// NOTE: gophercloud 0.12 has no call for GET /v3/auth/projects (the
	// projects a user may scope to, open to every user); a plain GET on
	// the service client does it.
	var mine struct {
		Projects []projects.Project `json:"projects"`
	}
	_, err = client.Get(
		client.ServiceURL("auth", "projects"), &mine,
		&gophercloud.RequestOpts{OkCodes: []int{200}},
	)
	if err != nil {
		fail("listing the projects", err)
	}
	out := report{
		UserID:      body.User.ID,
		UserName:    body.User.Name,
		ProjectID:   project.ID,
		ProjectName: project.Name,
		Methods:     body.Methods,
		Projects:    []string{},
		Endpoint:    client.Endpoint,
	}
	if out.Cloud = os.Getenv("OS_CLOUD"); out.Cloud != "" {
		cloud, err := clientconfig.GetCloudFromYAML(&clientconfig.ClientOpts{})
		if err != nil {
			fail("reading clouds.yaml", err)
		}
		out.CloudAuthType = string(cloud.AuthType)
	}
	for _, p := range mine.Projects {
		out.Projects = append(out.Projects, p.Name)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("writing the report", err)
	}
}
