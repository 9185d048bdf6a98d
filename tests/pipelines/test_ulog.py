"""PX4 ULog flight logs (``.ulg``): read, aligned and scored as any other log."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly.cli import app
from anomaly.errors import DataError, SchemaError
from pipelines.sources import read_table
from pipelines.ulog import ULOG_MAGIC, is_ulog, read_ulog_topics

pytest.importorskip("pyulog")
runner = CliRunner()
CODES = {"uint64_t": "Q", "float": "f", "double": "d", "int32_t": "i", "uint8_t": "B", "uint32_t": "I"}


def _message(kind: str, payload: bytes) -> bytes:
    return struct.pack("<HB", len(payload), ord(kind)) + payload


def write_ulog(path, topics: dict[str, tuple[list[tuple[str, str]], list[tuple]]]) -> None:
    """A minimal ULog file (version 1): a format and a subscription per topic, then its data
    messages in time order. ``topics``: name -> ([(C type, field)], rows); a row holds one value
    per field (a list for an array field), ``timestamp`` (microseconds) first."""
    out = [ULOG_MAGIC + bytes([1]) + struct.pack("<Q", 0), _message("B", bytes(40))]
    for name, (fields, _) in topics.items():
        out.append(_message("F", f"{name}:{''.join(f'{t} {f};' for t, f in fields)}".encode()))
    for msg_id, name in enumerate(topics):
        out.append(_message("A", struct.pack("<BH", 0, msg_id) + name.encode()))
    records = []
    for msg_id, (fields, rows) in enumerate(topics.values()):
        layout = "<" + "".join(CODES[t.split("[")[0]] * (int(t.split("[")[1][:-1]) if "[" in t else 1) for t, _ in fields)
        for row in rows:
            flat = [x for value in row for x in (value if isinstance(value, list) else [value])]
            records.append((row[0], _message("D", struct.pack("<H", msg_id) + struct.pack(layout, *flat))))
    out.extend(record for _, record in sorted(records, key=lambda r: r[0]))
    path.write_bytes(b"".join(out))


def flight(path, *, seconds: float = 60.0, seed: int = 0, gps: bool = True, stuck_motor_from: float | None = None):
    """A quadcopter's log: attitude at 100 Hz, gyro and accelerometer at 200 Hz, four motor
    outputs at 50 Hz (the fourth stuck from ``stuck_motor_from`` s on, if given), the battery at
    10 Hz and, with ``gps``, a GPS fix at 5 Hz whose UTC time starts at 2026-03-01 12:00:00."""
    rng = np.random.default_rng(seed)
    boot = 5_000_000  # the log starts 5 s after boot

    def times(rate):
        return (boot + np.arange(0, seconds, 1 / rate) * 1e6).astype(np.int64)

    def wave(t, period, phase=0.0):
        return np.sin(2 * np.pi * t / 1e6 / period + phase)

    t = times(100)
    attitude = [(int(x), [float(np.cos(0.1 * wave(x, 7))), float(0.1 * wave(x, 7)), float(0.05 * wave(x, 5)), 0.0]) for x in t]
    t = times(200)
    imu = [(int(x), [float(wave(x, 7, 1) + 0.01 * rng.normal()), float(wave(x, 5, 2)), 0.0],
            [float(0.3 * wave(x, 7)), float(0.2 * wave(x, 5)), float(-9.81 + 0.05 * rng.normal())], 0) for x in t]
    t = times(50)
    base = [0.6 + 0.1 * wave(t, 7, k) + 0.005 * rng.normal(size=len(t)) for k in range(4)]
    outputs = np.stack(base, axis=1)
    if stuck_motor_from is not None:
        stuck = (t - boot) / 1e6 >= stuck_motor_from
        outputs[stuck, 3] = outputs[np.argmax(stuck), 3] + 0.25
    motors = [(int(x), [float(v) for v in row] + [float("nan")] * 8) for x, row in zip(t, outputs)]
    t = times(10)
    battery = [(int(x), float(16.0 - 0.01 * (x - boot) / 1e6 + 0.002 * rng.normal()), float(12 + rng.normal()), 0.0) for x in t]
    topics = {
        "vehicle_attitude": ([("uint64_t", "timestamp"), ("float[4]", "q")], attitude),
        "sensor_combined": ([("uint64_t", "timestamp"), ("float[3]", "gyro_rad"), ("float[3]", "accelerometer_m_s2"),
                             ("uint32_t", "device_id")], imu),
        "actuator_motors": ([("uint64_t", "timestamp"), ("float[12]", "control")], motors),
        "battery_status": ([("uint64_t", "timestamp"), ("float", "voltage_v"), ("float", "current_a"), ("float", "remaining")],
                           battery),
    }
    if gps:
        utc = int(pd.Timestamp("2026-03-01 12:00:00").value // 1000)
        topics["vehicle_gps_position"] = ([("uint64_t", "timestamp"), ("uint64_t", "time_utc_usec"), ("double", "lat")],
                                          [(int(x), utc + int(x - boot), 47.0) for x in times(5)])
    write_ulog(path, topics)


def test_a_flight_log_reads_as_one_aligned_log_on_utc(tmp_path):
    path = tmp_path / "flight.ulg"
    flight(path)
    table = read_table(path)
    frame = table.frame
    assert list(frame.columns) == [
        "vehicle_attitude/q[0]", "vehicle_attitude/q[1]", "vehicle_attitude/q[2]", "vehicle_attitude/q[3]",
        "sensor_combined/gyro_rad[0]", "sensor_combined/gyro_rad[1]", "sensor_combined/gyro_rad[2]",
        "sensor_combined/accelerometer_m_s2[0]", "sensor_combined/accelerometer_m_s2[1]", "sensor_combined/accelerometer_m_s2[2]",
        "battery_status/voltage_v", "battery_status/current_a",
        "actuator_motors/control[0]", "actuator_motors/control[1]", "actuator_motors/control[2]", "actuator_motors/control[3]"]
    # the grid is the fastest topic's (200 Hz), on UTC from the GPS time; unused motors (NaN) are no channels
    assert abs(frame.index[0] - pd.Timestamp("2026-03-01 12:00:00")) < pd.Timedelta("1s")
    assert np.median(np.diff(frame.index.asi8)) == 5_000_000
    assert np.isfinite(frame.to_numpy()).all() and table.metadata["alignment"]
    assert is_ulog(path)
    renamed = tmp_path / "flight.bin"
    renamed.write_bytes(path.read_bytes())
    assert is_ulog(renamed) and not is_ulog(tmp_path)


def test_selections_name_topics_and_fields_and_time_since_boot_without_gps(tmp_path):
    path = tmp_path / "flight.ulg"
    flight(path, gps=False)
    frames = read_ulog_topics(path, ["battery_status:voltage_v,remaining", "/sensor_combined"])
    assert list(frames) == ["battery_status", "sensor_combined"]
    assert list(frames["battery_status"].columns) == ["battery_status/voltage_v", "battery_status/remaining"]
    assert "sensor_combined/device_id" not in frames["sensor_combined"].columns  # a bus address, not a measurement
    assert frames["battery_status"].index[0] == pd.Timestamp("1970-01-01 00:00:05")  # 5 s after boot
    table = read_table(path, topics=["battery_status:voltage_v"], rate_hz=2.0)
    assert table.frame.shape[1] == 1 and np.median(np.diff(table.frame.index.asi8)) == 500_000_000


@pytest.mark.parametrize("topics, error, message", [
    (["esc_status"], SchemaError, "topic 'esc_status' not found; the log has"),
    (["battery_status:cell_voltage"], SchemaError, "has no field(s) ['cell_voltage']"),
    (["actuator_motors:control[7]"], SchemaError, "are not a number in any message"),
])
def test_bad_selections_are_one_clear_error(tmp_path, topics, error, message):
    path = tmp_path / "flight.ulg"
    flight(path, seconds=5)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        read_ulog_topics(path, topics)


def test_damaged_empty_and_foreign_logs_are_data_errors(tmp_path):
    empty = tmp_path / "empty.ulg"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        read_table(empty)
    garbage = tmp_path / "garbage.ulg"
    garbage.write_bytes(b"not a ulog at all" * 10)
    with pytest.raises(DataError, match="cannot read ULog file"):
        read_table(garbage)
    other = tmp_path / "other.ulg"
    write_ulog(other, {"esc_status": ([("uint64_t", "timestamp"), ("float", "rpm")], [(1000 * k, 1.0 * k) for k in range(50)])})
    with pytest.raises(DataError, match=r"none of the default PX4 topics .* the log has \['esc_status'\]"):
        read_table(other)
    assert read_table(other, topics=["esc_status"]).frame.shape == (50, 1)


def test_fit_and_score_flight_logs_from_the_cli(tmp_path):
    logs = tmp_path / "normal"
    logs.mkdir()
    for seed in (0, 1):
        flight(logs / f"flight{seed}.ulg", seed=seed)
    result = runner.invoke(app, ["fit", str(logs), "-d", "pca", "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "2 logs" in result.output
    faulty = tmp_path / "faulty.ulg"
    flight(faulty, seed=2, stuck_motor_from=40.0)
    out = tmp_path / "s.csv"
    result = runner.invoke(app, ["score", str(faulty), "--model", str(tmp_path / "m"), "-o", str(out), "--top-k", "1"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, index_col=0, parse_dates=True)
    elapsed = (scores.index - scores.index[0]).total_seconds()
    after = elapsed >= 41  # the motor sticks at 40 s
    assert scores["flag"][after].mean() > 0.9 and scores["flag"][elapsed < 39.9].mean() < 0.01
    assert scores["top_channels"][after].value_counts().index[0] == "actuator_motors/control[3]"
    bad = runner.invoke(app, ["score", str(faulty), "--model", str(tmp_path / "m"), "-o", str(out), "--topic", "esc_status"])
    assert bad.exit_code == 2 and "topic 'esc_status' not found" in bad.output
