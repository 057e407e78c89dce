"""What a policy may ask of an image's filesystem, read from its layers (never by running it).
`reconciler.clients.image_layers.ImageFiles` implements it; tests may use any small object that does."""

from __future__ import annotations

from typing import Protocol


class ImageView(Protocol):
    image: str  # the reference the user wrote, for messages
    image_id: str
    path: tuple[str, ...]  # the image config's PATH, split (a default PATH when the config has none)
    workdir: str  # the image config's WorkingDir, "/" when empty
    shell: tuple[str, ...]  # the image config's Shell, ("/bin/sh", "-c") when empty

    def resolve(self, path: str) -> str | None:
        """The absolute path after following every symlink (absolute or relative, also in parent
        directories; hard links count as files), or None when nothing exists there (or a link loops)."""
        ...

    def is_executable(self, path: str) -> bool:
        """A regular file (after resolve) with an execute bit set."""
        ...

    def which(self, program: str) -> str | None:
        """Where the image would find ``program``: absolute as is, relative (contains '/') from
        workdir, else the first PATH directory holding an executable of that name."""
        ...

    def names_in_path(self) -> frozenset[str]:
        """Every executable name reachable through PATH (for 'what the image does have')."""
        ...
