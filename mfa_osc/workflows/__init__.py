# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""MFA workflows: enroll, enforce, remove, status and audit, recovery.

Independent of OSC and cliff: every workflow takes a
:class:`~mfa_osc.client.Keystone` and raises
:class:`~mfa_osc.workflows.errors.WorkflowError` with a message that says
what happened and what to run next, never with a secret in it.

The invariant every workflow keeps, at each step and when interrupted
between any two requests: the account is never weaker than before (no
moment where a TOTP code alone signs in, which a ``totp`` credential with
no MFA rules allows) and never locked out (no rule requires TOTP before a
working device exists). Guard rules ``[["password"],
["application_credential"]]`` refuse a TOTP-only sign-in and leave
password and application-credential sign-in as they were; they go on
before any credential is created and stay on until the last one is gone.
"""
