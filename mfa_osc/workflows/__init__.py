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
