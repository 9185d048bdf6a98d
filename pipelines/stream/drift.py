"""The validity guard in a stream: one ``drift`` record when the recent rows leave the training envelope.

Every :data:`WINDOW_SECONDS` of rows (1000 rows when the model has no sampling rate), the
median of the last such window of raw rows is compared with the model's training envelope
(:mod:`anomaly.guard`). When it first lies outside, one record is emitted::

    {"type": "drift", "model": "arm", "timestamp": "...", "message": "model outside its operating
     envelope: j1_temp -4.02 (training 27.9 .. 28.2), ...", "channels": {"j1_temp": -4.02, ...}}

and no other until the stream has come back inside the envelope. Channels named for the share
of the window's rows outside their range (:data:`anomaly.guard.SHARE_OUTSIDE`) are listed under
``"outside_share"`` instead of ``"channels"``. When a channel the model sees at its level (not
a condition or set-point channel) has its median outside, ``"refit"`` holds the option that
would model it by its change beside auto's choice, ``"--condition auto,battery_v"``: if its
level is an operating condition (a battery's charge), not a fault, fit again with it.

A stream can also flood while every channel stays inside its range (a battery whose level
differs by session, :func:`anomaly.guard.flood_note`): when the last window of scored rows is
inside the envelope, at least :data:`~anomaly.guard.FLOOD_SHARE` of them flagged and one channel
the model sees at its level leads at least :data:`~anomaly.guard.LEAD_SHARE` of the flagged
ones, one record names it, with ``"channels"`` empty and ``"led_by"`` that channel's share of the
flagged rows::

    {"type": "drift", ..., "message": "31% of rows flagged, 99% of them led by battery_v, inside its
     training range: ...", "channels": {}, "led_by": {"battery_v": 0.99}}

and no other until a window of scored rows inside the envelope no longer floods. Set-point
channels that lead such a flood together are named as :func:`anomaly.guard.flood_leaders` says,
each with its share under ``"led_by"``.

When re-centring (:mod:`anomaly.recentring`) starts to follow a channel that drifted from what
the other channels predict while inside its range (a battery discharging further than in the
training logs), one record says so, with ``"followed"`` its shift in its own units: from then on
it is scored around its drifting level::

    {"type": "drift", ..., "message": "battery_v drifted from what the other channels predict inside
     its range and is scored around its drifting level from 2026-04-01 00:08:59.900 (by -0.1671)",
     "channels": {}, "followed": {"battery_v": -0.167101}}
"""

from __future__ import annotations

import numpy as np

from anomaly.guard import WINDOW_SECONDS, condition_option, describe, flood_leaders, flood_line, flood_shares, refit_names, relation_note, window_rows

__all__ = ["WINDOW_SECONDS", "EnvelopeWatch", "followed_record"]


class EnvelopeWatch:
    """Watch the recent rows of a stream against a fitted detector's training envelope.

    Parameters
    ----------
    detector : fitted Detector
        Its ``envelope_`` and ``schema_.sampling_rate`` are used.
    """

    def __init__(self, detector):
        self.envelope = detector.envelope_
        self.level = detector.level_channels()
        self.setpoints = detector.setpoint_channels()
        self.declared = detector.declared_conditions()
        self.window = window_rows(detector.schema_.sampling_rate)
        self._rows = np.zeros((self.window, len(detector.schema_.channels)), dtype=np.float32)
        self._seen = 0
        self.outside = False
        self.channels = tuple(detector.schema_.channels)
        self._led = np.zeros(len(self.channels), dtype=np.int64)
        self._over = np.zeros(len(self.channels), dtype=np.int64)
        self._scored = 0
        self.flooding = False

    def push(self, row: np.ndarray) -> dict | None:
        """Add one raw row (n_channels,); the drift record's fields when the stream has just left the envelope."""
        self._rows[self._seen % self.window] = row
        self._seen += 1
        if self._seen % self.window:
            return None
        excursions = self.envelope.check(self._rows, self.level)
        was_outside, self.outside = self.outside, bool(excursions)
        if not excursions or was_outside:
            return None
        record = {"message": describe(excursions), "channels": {e.channel: round(e.delta, 6) for e in excursions if e.share is None}}
        shares = {e.channel: round(e.share, 4) for e in excursions if e.share is not None}
        if shares:
            record["outside_share"] = shares
        if names := refit_names(excursions, self.channels, self.level):
            record["refit"] = condition_option(names, self.declared)
        return record

    def push_scored(self, ranked: np.ndarray, flagged: np.ndarray) -> dict | None:
        """Add scored rows: their calibrated errors ``ranked`` (k, n_channels) and flags (k,)
        (score above the threshold); the drift record's fields when a window of scored rows has
        just begun to flood inside the envelope (see the module docstring)."""
        record = None
        for errors, flag in zip(ranked, flagged):
            if flag:
                self._led[int(np.argmax(errors))] += 1
                self._over += errors > 1.0
            self._scored += 1
            if self._scored % self.window:
                continue
            if not self.outside:  # outside, the envelope's record speaks for the window
                leaders = flood_leaders(self._led, self.window, self.level, self.setpoints, self._over)
                if leaders and not self.flooding:
                    record = {"message": flood_line(self._led, self.window, self.channels, leaders, self.level, self.declared), "channels": {},
                              "led_by": flood_shares(self._led, self.channels, leaders)}
                self.flooding = bool(leaders)
            self._led[:] = 0
            self._over[:] = 0
        return record


def followed_record(detector, followed, start) -> dict:
    """The drift record's fields for the channels re-centring has just started to follow by their
    relation (``followed``: :meth:`anomaly.recentring.Recentring.take_new`), from the row ``start``
    (its timestamp)."""
    drifts = [f.drift(detector.schema_.channels, detector.scaler_.scale_, start) for f in followed]
    return {"message": relation_note(drifts), "channels": {}, "followed": {d.channel: round(d.shift, 6) for d in drifts}}
