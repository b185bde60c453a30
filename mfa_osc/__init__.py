"""Multi-factor sign-in, enrollment and recovery for OpenStack clients."""
