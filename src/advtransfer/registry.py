"""A tiny name → factory registry shared by datasets, architectures, attacks and defences."""

from __future__ import annotations

import importlib
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; an unknown name is a ``KeyError`` that lists the known ones.

    ``modules`` maps names to the module that registers them: that module is imported only when
    the name is first used, so a job imports (and its code version covers, ``advtransfer.code``)
    only the attack, defence or architecture it runs.
    """

    def __init__(self, kind: str, modules: dict[str, str] | None = None):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._modules: dict[str, str] = dict(modules or {})

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return decorator

    def get(self, name: str) -> T:
        if name not in self._items and name in self._modules:
            importlib.import_module(self._modules[name])
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def module(self, name: str) -> str | None:
        """The module that registers ``name`` (None for one registered at run time)."""
        return self._modules.get(name)

    def names(self) -> list[str]:
        return sorted(set(self._items) | set(self._modules))

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._modules


class UnknownNameError(KeyError):
    """A name that is not in a registry. ``str()`` gives the readable message."""

    def __str__(self) -> str:  # KeyError quotes its argument; show it plainly
        return str(self.args[0])
