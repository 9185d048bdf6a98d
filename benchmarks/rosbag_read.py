"""Reading speed of ROS bags: one JointState topic (6 joints, position/velocity/effort) of
200,000 messages at 100 Hz, written with rosbags into a ROS 1 bag, a ROS 2 sqlite3 bag and a
ROS 2 MCAP bag, then read back.

Toolkit: ``pipelines.rosbag.read_topics`` (open, decode every message, check joint names,
build the (n, 18) float64 frame with a DatetimeIndex). Ceiling: rosbags alone on the same
file (``AnyReader.messages`` + ``deserialize``, nothing kept). Best of 2 runs each, in
messages per second, on the project's 2-core machine.

Run: ``python benchmarks/rosbag_read.py`` -> ``benchmarks/results/rosbag_read.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import best_seconds, write_result
from rosbags.highlevel import AnyReader
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from pipelines.rosbag import read_topics

JOINTS = [f"joint_{i}" for i in range(1, 7)]
T0 = 1_767_225_600 * 10**9
REPEATS = 2
KINDS = {"ros1_bag": "run.bag", "ros2_sqlite3": "run_sqlite3", "ros2_mcap": "run_mcap"}


def write(path: Path, kind: str, n: int) -> float:
    """Write ``n`` JointState messages; return seconds taken."""
    ros1 = kind == "ros1_bag"
    ts = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    JointState, Header, Time = (ts.types[t] for t in ("sensor_msgs/msg/JointState", "std_msgs/msg/Header", "builtin_interfaces/msg/Time"))
    angles = np.sin(np.arange(n)[:, None] * 0.01 + np.arange(6)[None, :])
    start = time.perf_counter()
    if ros1:
        writer = Writer1(path)
    else:
        writer = Writer2(path, version=9, storage_plugin=StoragePlugin.SQLITE3 if kind == "ros2_sqlite3" else StoragePlugin.MCAP)
    with writer:
        connection = writer.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=ts)
        serialize = ts.serialize_ros1 if ros1 else ts.serialize_cdr
        for i in range(n):
            ns = T0 + i * 10_000_000
            stamp = Time(sec=ns // 10**9, nanosec=ns % 10**9)
            header = Header(seq=i, stamp=stamp, frame_id="") if ros1 else Header(stamp=stamp, frame_id="")
            message = JointState(header=header, name=JOINTS, position=angles[i], velocity=np.cos(angles[i]), effort=2 * angles[i])
            writer.write(connection, ns, serialize(message, "sensor_msgs/msg/JointState"))
    return time.perf_counter() - start


def decode_only(path: Path) -> int:
    with AnyReader([path]) as reader:
        count = 0
        for connection, _, raw in reader.messages():
            reader.deserialize(raw, connection.msgtype)
            count += 1
    return count

def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    n = args.messages
    result = {"messages": n, "joints": len(JOINTS), "channels": 3 * len(JOINTS), "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, name in KINDS.items():
            path = Path(tmp) / name
            write_s = write(path, kind, n)
            frame = read_topics(path)["/joint_states"]
            assert frame.shape == (n, 18), frame.shape
            np.testing.assert_allclose(frame.iloc[-1, :6], np.sin((n - 1) * 0.01 + np.arange(6)))
            assert decode_only(path) == n
            toolkit_s = best_seconds(lambda path=path: read_topics(path), REPEATS)
            rosbags_s = best_seconds(lambda path=path: decode_only(path), REPEATS)
            result["formats"][kind] = {
                "file_bytes": size(path),
                "write_messages_per_s": n / write_s,
                "toolkit_messages_per_s": n / toolkit_s,
                "rosbags_decode_only_messages_per_s": n / rosbags_s,
                "toolkit_time_ratio_to_decode_only": toolkit_s / rosbags_s,
            }
            print(f"{kind:13s} read {n / toolkit_s:>9,.0f} msg/s (rosbags decode only {n / rosbags_s:>9,.0f} msg/s, "
                  f"ratio {toolkit_s / rosbags_s:.2f}); write {n / write_s:,.0f} msg/s; {size(path) / 1e6:.1f} MB")
    print(f"-> {write_result('rosbag_read', {'protocol': __doc__.split('Run:')[0].strip(), **result})}")


if __name__ == "__main__":
    main()
