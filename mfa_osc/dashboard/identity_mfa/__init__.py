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


"""Identity -> Multi-factor (``/identity/mfa/``): the administrators'
page: every user's MFA state (the audit, a page of Keystone's list at a
time, and as a CSV file), enforce, reset, end a TOTP lock, and a domain's
MFA policy."""
