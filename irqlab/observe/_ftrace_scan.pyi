from collections.abc import Mapping

def scan(chunk: bytes, decoded: Mapping[bytes, tuple[int, int, int, str] | None], /) -> (
    tuple[tuple[list[int], list[int], list[int], list[int], list[int], list[str]],
          int, bytes, int, int, int] | None): ...
