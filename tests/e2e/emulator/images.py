"""What an image's Dockerfile would add. The emulator has no images: every container's root is
an overlay of the host's / (container_init.py), and what an image adds on top of that comes
from a table the caller registers (`Settings.images`, keyed by repository name), so any
image can be emulated without the emulator knowing it.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Mapping

# The PATH a container starts with (the usual one of Debian-based images).
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclasses.dataclass(frozen=True)
class ImageDefaults:
    """One image's defaults, as its Dockerfile would set them."""

    workdir: str = "/"
    cmd: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()  # VOLUME paths: anonymous volumes when nothing is mounted
    users: tuple[tuple[int, str], ...] = ()  # (uid, name) the image's /etc/passwd holds
    # (path in the container, host command): symlinks added to the container root, pointing
    # at the host's binary found on PATH (e.g. an image's /usr/local/bin/x -> the host's
    # /usr/bin/x). Commands missing on the host are left out.
    links: tuple[tuple[str, str], ...] = ()


def image_repo(reference: str) -> str:
    """`registry/owner/name:tag@digest` -> `name`."""
    return reference.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def image_defaults(images: Mapping[str, ImageDefaults], reference: str) -> ImageDefaults:
    """The registered defaults of REFERENCE's repository, else an image that adds nothing."""
    return images.get(image_repo(reference), ImageDefaults())


def resolve_links(image: ImageDefaults) -> dict[str, str]:
    """The image's symlinks with their host targets, for those the host has."""
    out = {}
    for path, command in image.links:
        target = shutil.which(command)
        if target:
            out[path] = target
    return out
