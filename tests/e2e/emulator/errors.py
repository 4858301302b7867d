"""The emulator's own error: something a test waited for did not happen.

(Invalid manifests, or manifests asking for what is not emulated, raise
`manifests.ManifestError` instead.)
"""


class HarnessError(Exception):
    """The emulated cluster did not do what a test waited for."""
