"""`$[/javascript ...]` in a real JavaScript engine (dukpy), read-only like CD/RO 3.0+ (KBEC-00045).

The script sees `myJob`, `myJobStep`, `myParent`, `myCall`, `myProject`, `myProcedure`, `myStep`, `myUser`
as property-sheet objects and `getProperty(path)` / `getProperty(object, path)`. The objects are ES6
`Proxy`s over handles to the emulator's nodes: each property read asks Python for that one name, so nothing
is copied up front and a job with many steps costs no more than the names the script touches.

A missing property reads as `undefined`, an intrinsic that holds no value as `null`. A read that fails
(a malformed path, a value whose expansion fails) throws an `Error` (with `.code`, the CD/RO error code)
that the script may catch; an expansion loop or an emulator bug ends the evaluation whatever the script does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import dukpy
from dukpy import _dukpy

from .context import Context
from .errors import CommanderError, ExpansionLimit
from .property_graph import Node, Resolved

GLOBAL_OBJECTS = ("myJob", "myJobStep", "myParent", "myCall", "myProject", "myProcedure", "myStep", "myUser")

# Runs before the user's script. Everything it defines stays inside the function except the globals
# above and getProperty; the value of the whole program is the script's completion value as a string.
_PRELUDE = r"""
(function (g, roots) {
  var handles = new WeakMap();
  function fromPython(d) {
    if (d[0] === "v") return d[1];
    if (d[0] === "o") return wrap(d[1]);
    if (d[0] === "n") return null;
    if (d[0] === "t") {
      // a failed read the script may catch; uncaught, it ends the script with the server's own error
      var failure = new Error(d[1]);
      failure.code = d[2];
      throw failure;
    }
    if (d[0] === "e") throw new Error(d[1]);
    return undefined;
  }
  // [U] CD/RO 3.0+ JS is read-only (KBEC-00045); whether a write throws or is ignored is not documented.
  function readOnly(name) {
    throw new TypeError("CD/RO JavaScript is read-only: cannot change '" + String(name) + "'");
  }
  function wrap(h) {
    var proxy = new Proxy({}, {
      get: function (t, k) {
        if (typeof k !== "string") return t[k];
        var v = fromPython(call_python("cdro_child", h, k));
        // toString, valueOf ... keep their usual meaning unless a property of that name exists
        return (v === undefined && k in t) ? t[k] : v;
      },
      has: function (t, k) {
        return typeof k === "string" && call_python("cdro_child", h, k)[0] !== "u";
      },
      // [U] enumeration lists custom properties and parameters (what getProperties lists), not intrinsics
      ownKeys: function () { return call_python("cdro_keys", h); },
      getOwnPropertyDescriptor: function (t, k) {
        if (typeof k !== "string") return undefined;
        var v = fromPython(call_python("cdro_child", h, k));
        if (v === undefined) return undefined;
        return {value: v, writable: false, enumerable: true, configurable: true};
      },
      set: function (t, k) { readOnly(k); },
      defineProperty: function (t, k) { readOnly(k); },
      deleteProperty: function (t, k) { readOnly(k); }
    });
    handles.set(proxy, h);
    return proxy;
  }
  for (var name in roots) {
    g[name] = roots[name] < 0 ? undefined : wrap(roots[name]);
  }
  g.getProperty = function (a, b) {
    if (arguments.length >= 2) {
      var h = handles.get(a);
      if (h === undefined) {
        throw new TypeError("getProperty(object, path): the first argument is not a CD/RO object but " + a);
      }
      return fromPython(call_python("cdro_path", h, String(b)));
    }
    return fromPython(call_python("cdro_path", -1, String(a)));
  };
  // CD/RO's engine has no Node-style host objects: should dukpy define one natively, it goes.
  delete g.process;
  delete g.require;
  delete g.module;
  delete g.exports;
  delete g.console;
})(this, dukpy.roots);
var __cdro_value = (0, eval)(dukpy.script);
(__cdro_value === undefined || __cdro_value === null) ? "" : String(__cdro_value);
"""


class _Interpreter(dukpy.JSInterpreter):
    """dukpy's interpreter without its Node-style host shims (process, console, require): CD/RO's
    JavaScript has none of them, nor has Rhino, the reference evaluator the tests hold the emulator to,
    and running them cost each evaluation about 0.35 ms (a skipped step is one evaluation). A fresh
    QuickJS context and the exported functions are all that dukpy's eval_string calls back into.
    (Relies on dukpy's internals: dukpy is pinned in requirements.txt.)
    """

    def __init__(self) -> None:  # not dukpy's, which evaluates the shims
        self._ctx = _dukpy.create_context()
        self._funcs: Dict[str, Callable[..., Any]] = {}
        self._loader = None  # the shims' module loader: require() is not part of the emulated surface


@dataclass(frozen=True)
class PropertyReader:
    """How a script reads properties; passed in by the expansion that runs the script."""

    resolve: Callable[[Context, str], Optional[Resolved]]  # what a path names, None when nothing
    value_text: Callable[[Context, Resolved], str]  # the text a value reads as, expanded
    shortcut: Callable[[Context, str], Optional[Node]]  # the object a `my*` name stands for


class _Bridge:
    """The Python side of the proxies: handles to nodes, and the first hard error a read raised."""

    def __init__(self, ctx: Context, reader: PropertyReader) -> None:
        self.ctx = ctx
        self.reader = reader
        self.nodes: List[Node] = []
        self.failure: Optional[BaseException] = None
        self.thrown: List[CommanderError] = []  # failed reads handed to the script as exceptions

    def handle(self, node: Optional[Node]) -> int:
        if node is None:
            return -1
        self.nodes.append(node)
        return len(self.nodes) - 1

    def describe(self, ctx: Context, item: Optional[Resolved]) -> List[Any]:
        if item is None:
            return ["u"]  # a missing property reads as undefined
        if isinstance(item, Node):
            return ["o", self.handle(item)]
        if not item.is_set:
            return ["n"]  # [U] an intrinsic with no value yet (a running job's finish) reads as null
        return ["v", self.reader.value_text(ctx, item)]

    def guarded(self, read: Any) -> List[Any]:
        try:
            return read()
        except ExpansionLimit as err:
            return self._hard(err)
        except CommanderError as err:
            # [U] a read that fails (a bad path such as 'a[b', a value whose expansion fails) throws in the
            # script, which may catch it; uncaught, the evaluation fails with this error.
            self.thrown.append(err)
            return ["t", str(err), err.code]
        except Exception as err:  # noqa: BLE001 - re-raised after the script ends
            return self._hard(err)

    def _hard(self, err: Exception) -> List[Any]:
        # An expansion loop or a bug surfaces as itself, not as a script error, even if the script catches it.
        if self.failure is None:
            self.failure = err
        return ["e", str(getattr(err, "message", err))]

    def uncaught(self, js_error: Exception) -> Optional[CommanderError]:
        """The failed read that ended the script, when the script did not catch it."""
        text = str(js_error)
        return next((err for err in reversed(self.thrown) if str(err) in text), None)

    def child(self, h: int, key: str) -> List[Any]:
        return self.guarded(lambda: self.describe(self.ctx, self.nodes[h].lookup(key)))

    def path(self, h: int, path: str) -> List[Any]:
        def read() -> List[Any]:
            ctx = self.ctx if h < 0 else self.nodes[h].context(self.ctx)
            return self.describe(ctx, self.reader.resolve(ctx, path))

        return self.guarded(read)

    def keys(self, h: int) -> List[Any]:
        def read() -> List[Any]:
            return list(dict.fromkeys(child.name for child in self.nodes[h].children()))

        return self.guarded(read)


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def evaluate(ctx: Context, script: str, reader: PropertyReader) -> str:
    """The completion value of script as CD/RO prints it: undefined/null -> "", true -> "true", 2.0 -> "2".

    A syntax or runtime error is InvalidScript [U code]; one fresh interpreter per call (about 0.2 ms),
    so nothing one script does is seen by the next.
    """
    bridge = _Bridge(ctx, reader)
    with ctx.store.lock:
        roots = {name: bridge.handle(reader.shortcut(ctx, name)) for name in GLOBAL_OBJECTS}
        interpreter = _Interpreter()
        interpreter.export_function("cdro_child", bridge.child)
        interpreter.export_function("cdro_path", bridge.path)
        interpreter.export_function("cdro_keys", bridge.keys)
        try:
            result = interpreter.evaljs(_PRELUDE, script=script, roots=roots)
        except dukpy.JSRuntimeError as err:
            if bridge.failure is not None:
                raise bridge.failure from None
            uncaught = bridge.uncaught(err)
            if uncaught is not None:
                raise uncaught from None
            shown = script if len(script) <= 200 else script[:200] + "..."
            message = f"JavaScript error in '$[/javascript {shown}]': {_first_line(err)}"
            raise CommanderError("InvalidScript", message) from None
        if bridge.failure is not None:
            raise bridge.failure
        return "" if result is None else str(result)
