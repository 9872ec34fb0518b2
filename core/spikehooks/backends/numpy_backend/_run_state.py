"""The NumPy backend's running state: what carries from one batch into the next.

mlGeNN's e-prop never resets neuron state between batches, so a batch
starts where the previous one stopped.  These methods let a compiled
network keep that state aside (an ``evaluate`` in the middle of training
must not disturb it), put it back, and save it in a checkpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConfigurationError


class RunStateMethods:
    """Mixin of :class:`NumpyBackend`: save, load and partly reset the running state."""

    _pops: dict[Any, Any]
    _conns: dict[Any, Any]
    batch_size: int

    def get_run_state(self) -> dict[str, dict[str, np.ndarray]]:
        """Copies of every array that carries from one step into the next.

        Returns
        -------
        dict
            ``"pop:<name>"`` -> ``{"var:<backend name>": float32 (batch, n),
            "spikes": bool (batch, n), "spikes_f": float32, "isyn": float32}``
            (the arrays the population has) and ``"conn:<name>"`` ->
            ``{"in_syn": float32 (batch, n_post), "ring": float32 delay ring}``.
        """
        state: dict[str, dict[str, np.ndarray]] = {}
        for pop, pst in self._pops.items():
            entry = {f"var:{name}": arr.copy() for name, arr in pst.vars.items()}
            for name in ("spikes", "spikes_f", "isyn"):
                if getattr(pst, name) is not None:
                    entry[name] = getattr(pst, name).copy()
            state[f"pop:{pop.name}"] = entry
        for conn, cst in self._conns.items():
            entry = {"in_syn": cst.in_syn.copy()}
            if cst.ring is not None:
                entry["ring"] = cst.ring.copy()
            state[f"conn:{conn.name}"] = entry
        return state

    def check_run_state(self, state: Any, owner: str) -> None:
        """Raise ``ConfigurationError`` naming the entries of ``state`` that do not fit."""
        want = self.get_run_state()
        got = {key: {k: np.shape(v) for k, v in dict(value).items()}
               for key, value in dict(state).items()}
        shapes = {key: {k: v.shape for k, v in value.items()} for key, value in want.items()}
        if got != shapes:
            missing = sorted(set(shapes) ^ set(got)) or [
                k for k in shapes if shapes[k] != got.get(k)]
            raise ConfigurationError(
                f"{owner} must hold this network's running state (one entry per population "
                f"and connection, batch size {self.batch_size}); got entries {missing[:3]} that "
                f"differ. Load state saved from the same network and batch size."
            )

    def set_run_state(self, state: dict[str, dict[str, np.ndarray]]) -> None:
        """Copy what :meth:`get_run_state` returned back into the live arrays."""
        for pop, pst in self._pops.items():
            entry = state[f"pop:{pop.name}"]
            for name, arr in pst.vars.items():
                arr[...] = entry[f"var:{name}"]
            for name in ("spikes", "spikes_f", "isyn"):
                if getattr(pst, name) is not None:
                    getattr(pst, name)[...] = entry[name]
        for conn, cst in self._conns.items():
            entry = state[f"conn:{conn.name}"]
            cst.in_syn[...] = entry["in_syn"]
            if cst.ring is not None:
                cst.ring[...] = entry["ring"]

    def reset_readout_vars(self) -> None:
        """Set only the readouts' accumulators (``VSum``...) back to their initial values.

        mlGeNN's e-prop ``Reset`` custom update at the start of each batch.
        """
        for pst in self._pops.values():
            readout = pst.population.neuron.readout
            if readout is not None and readout.accumulates:
                name = readout.var_name
                pst.vars[name][:] = pst.initial[name]
