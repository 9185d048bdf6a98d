"""The scikit-learn estimator parameter protocol, without importing scikit-learn.

Detectors, thresholds, score heads and alert logic follow scikit-learn's estimator contract
(the constructor only stores its parameters; ``get_params``/``set_params``; fitted attributes
end in ``_``), and ``sklearn.base.clone`` works on them. Importing ``sklearn.base`` costs
about a second and pulls in SciPy, which a scoring process next to a robot does not need,
so they inherit this mixin instead of ``sklearn.base.BaseEstimator``.
"""

from __future__ import annotations

import inspect

from anomaly.errors import ConfigError

__all__ = ["Params"]


class Params:
    """``get_params``, ``set_params`` and a parameter ``repr`` from the ``__init__`` signature."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """Constructor parameter names, sorted (``*args``/``**kwargs`` are not allowed)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for parameter in inspect.signature(init).parameters.values():
            if parameter.name == "self":
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(parameter.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict:
        """Parameters by name; with ``deep``, also ``name__sub`` for parameters that have parameters."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", sub) for key, sub in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params):
        """Set parameters (``name`` or nested ``name__sub``); returns self.

        Raises
        ------
        ConfigError
            If a name is not a constructor parameter (a ``ValueError``, as scikit-learn raises).
        """
        valid = self._get_param_names()
        unknown = sorted({key.partition("__")[0] for key in params} - set(valid))
        if unknown:
            raise ConfigError(f"{type(self).__name__} params {unknown} are unknown: allowed are {valid}")
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, subs in nested.items():
            getattr(self, name).set_params(**subs)
        return self

    def __sklearn_tags__(self):
        """scikit-learn's default estimator tags (read by ``check_is_fitted`` and ``clone``)."""
        from sklearn.utils import Tags, TargetTags  # only scikit-learn itself asks, so it is already loaded

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except (TypeError, ValueError):  # arrays and the like
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"
