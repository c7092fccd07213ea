"""The pluggy markers of Portalis: `hookspec` declares a hook, `hookimpl` implements one.

They sit at the bottom of the engine so that built-in contributions (the field types of
`definition.fieldtypes`, for example) register through the same hooks as plugins without
importing the hook declarations above them.
"""

from __future__ import annotations

import pluggy

#: The pluggy project name: hook names start with `portalis_`.
PROJECT = "portalis"
#: Decorator of hook declarations (`engine.hookspecs`, `runtime.hookspecs`).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator for hook implementations of every layer (exported by `portalis.api`).
hookimpl = pluggy.HookimplMarker(PROJECT)
