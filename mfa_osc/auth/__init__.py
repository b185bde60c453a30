"""The ``v3multifactor`` auth plugin: loader, sign-in, passcode sources, token cache, errors."""
