"""The ``v3multifactor`` auth plugin.

Loader, sign-in, passcode sources, token cache and errors.
"""
