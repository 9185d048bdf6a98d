"""ROS 1 bags, ROS 2 bags (sqlite3, MCAP) and bare MCAP files, written here with rosbags' writers."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rosbags")

from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.rosbag import is_bag, parse_topic, read_bag, read_topics
from pipelines.sources import read_table

KINDS = ("ros1", "sqlite3", "mcap-folder", "mcap")
T0 = 1_767_225_600 * 10**9  # 2026-01-01 00:00:00 UTC in ns
RECEIVE_DELAY = 1_000_000  # ns between a header stamp and the bag's receive time
JOINTS = ["shoulder", "elbow"]


def typestore(kind: str):
    return get_typestore(Stores.ROS1_NOETIC if kind == "ros1" else Stores.ROS2_HUMBLE)


def header(ts, ns: int):
    fields = {"stamp": ts.types["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9), "frame_id": "base"}
    if "seq" in ts.types["std_msgs/msg/Header"].__dataclass_fields__:
        fields["seq"] = 0
    return ts.types["std_msgs/msg/Header"](**fields)


def joint_state(ts, ns, names=JOINTS, position=(0.0, 0.0), velocity=(), effort=()):
    return ts.types["sensor_msgs/msg/JointState"](
        header=header(ts, ns), name=list(names), position=np.array(position, float),
        velocity=np.array(velocity, float), effort=np.array(effort, float),
    )


def imu(ts, ns, gyro, accel, orientation_known=True):
    vec, quat = ts.types["geometry_msgs/msg/Vector3"], ts.types["geometry_msgs/msg/Quaternion"]
    cov = np.zeros(9)
    return ts.types["sensor_msgs/msg/Imu"](
        header=header(ts, ns), orientation=quat(x=0.0, y=0.0, z=0.6, w=0.8),
        orientation_covariance=cov if orientation_known else np.r_[-1.0, np.zeros(8)],
        angular_velocity=vec(*gyro), angular_velocity_covariance=cov,
        linear_acceleration=vec(*accel), linear_acceleration_covariance=cov,
    )


def wrench(ts, ns, force, torque):
    vec = ts.types["geometry_msgs/msg/Vector3"]
    body = ts.types["geometry_msgs/msg/Wrench"](force=vec(*force), torque=vec(*torque))
    return ts.types["geometry_msgs/msg/WrenchStamped"](header=header(ts, ns), wrench=body)


def float64(ts, value):
    return ts.types["std_msgs/msg/Float64"](data=value)


def temperature(ts, ns, value):
    return ts.types["sensor_msgs/msg/Temperature"](header=header(ts, ns), temperature=value, variance=0.0)


def write_bag(path, kind, records, *, empty_topics=()):
    """Write ``records`` = [(topic, msgtype, receive_ns, build(typestore) -> message)] as ``kind``.

    ``mcap`` writes a ROS 2 MCAP bag and keeps only its ``.mcap`` file (no metadata.yaml).
    Returns the path to read.
    """
    ts = typestore(kind)
    if kind == "ros1":
        writer = Writer1(path)
    else:
        plugin = StoragePlugin.SQLITE3 if kind == "sqlite3" else StoragePlugin.MCAP
        writer = Writer2(path.with_suffix("") if kind == "mcap" else path, version=9, storage_plugin=plugin)
    with writer:
        connections = {}
        for topic, msgtype in [(t, m) for t, m, *_ in records] + list(empty_topics):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=ts)
        for topic, msgtype, ns, build in sorted(records, key=lambda r: r[2]):
            message = build(ts)
            raw = ts.serialize_ros1(message, msgtype) if kind == "ros1" else ts.serialize_cdr(message, msgtype)
            writer.write(connections[topic], ns, raw)
    if kind == "mcap":
        folder = path.with_suffix("")
        shutil.move(folder / f"{folder.name}.mcap", path)
        shutil.rmtree(folder)
    return path


def bag_path(tmp_path, kind, name="run"):
    return tmp_path / (f"{name}.bag" if kind == "ros1" else f"{name}.mcap" if kind == "mcap" else name)


def robot_records(n_joint=20):
    """Joints at 100 Hz, IMU at 400 Hz, wrench at 50 Hz, a Float64 temperature at 1 Hz (from T0)."""
    records = []
    for i in range(n_joint):
        ns = T0 + i * 10_000_000
        records.append(("/joint_states", "sensor_msgs/msg/JointState", ns + RECEIVE_DELAY,
                        lambda ts, ns=ns, i=i: joint_state(ts, ns, position=(0.1 * i, -0.1 * i), velocity=(1.0, -1.0), effort=(i, 2 * i))))
    for i in range(4 * n_joint):
        ns = T0 + i * 2_500_000
        records.append(("/imu", "sensor_msgs/msg/Imu", ns + RECEIVE_DELAY,
                        lambda ts, ns=ns, i=i: imu(ts, ns, gyro=(i, 0.5, -0.5), accel=(0.0, 0.1 * i, 9.81))))
    for i in range(n_joint // 2):
        ns = T0 + i * 20_000_000
        records.append(("/ft", "geometry_msgs/msg/WrenchStamped", ns + RECEIVE_DELAY,
                        lambda ts, ns=ns, i=i: wrench(ts, ns, force=(i, 0.0, -i), torque=(0.25, 0.5, 0.75))))
    for i in range(2):
        records.append(("/motor/temp", "std_msgs/msg/Float64", T0 + i * 10**9, lambda ts, i=i: float64(ts, 40.0 + i)))
    return records


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def test_every_kind_reads_back_exact_values_names_and_stamps(tmp_path, kind):
    path = write_bag(bag_path(tmp_path, kind), kind, robot_records())
    assert is_bag(path)
    frames = read_topics(path)
    assert list(frames) == ["/ft", "/imu", "/joint_states", "/motor/temp"]

    joints = frames["/joint_states"]
    assert list(joints.columns) == [
        "/joint_states/position/shoulder", "/joint_states/position/elbow",
        "/joint_states/velocity/shoulder", "/joint_states/velocity/elbow",
        "/joint_states/effort/shoulder", "/joint_states/effort/elbow",
    ]
    i = np.arange(20)
    np.testing.assert_array_equal(joints.to_numpy(), np.c_[0.1 * i, -0.1 * i, np.ones(20), -np.ones(20), i, 2 * i])
    assert joints.index.equals(pd.DatetimeIndex((T0 + i * 10_000_000).astype("datetime64[ns]"), name="timestamp"))
    assert joints.index[0] == pd.Timestamp("2026-01-01 00:00:00")

    imu_frame = frames["/imu"]
    assert list(imu_frame.columns) == [
        "/imu/orientation.x", "/imu/orientation.y", "/imu/orientation.z", "/imu/orientation.w",
        "/imu/angular_velocity.x", "/imu/angular_velocity.y", "/imu/angular_velocity.z",
        "/imu/linear_acceleration.x", "/imu/linear_acceleration.y", "/imu/linear_acceleration.z",
    ]
    k = np.arange(80)
    np.testing.assert_array_equal(imu_frame["/imu/angular_velocity.x"].to_numpy(), k)
    np.testing.assert_array_equal(imu_frame["/imu/linear_acceleration.y"].to_numpy(), 0.1 * k)
    np.testing.assert_array_equal(imu_frame["/imu/orientation.w"].to_numpy(), 0.8)
    assert (imu_frame.index.asi8 == T0 + k * 2_500_000).all()

    ft = frames["/ft"]
    assert list(ft.columns) == [f"/ft/wrench.{part}.{axis}" for part in ("force", "torque") for axis in "xyz"]
    np.testing.assert_array_equal(ft.iloc[3].to_numpy(), [3.0, 0.0, -3.0, 0.25, 0.5, 0.75])

    temp = frames["/motor/temp"]  # Float64 has no header: the bag's receive time is used
    assert list(temp.columns) == ["/motor/temp/data"]
    assert temp["/motor/temp/data"].tolist() == [40.0, 41.0]
    assert temp.index.asi8.tolist() == [T0, T0 + 10**9]


def test_receive_time_instead_of_header_stamp(tmp_path, kind):
    path = write_bag(bag_path(tmp_path, kind), kind, robot_records())
    joints = read_topics(path, ["/joint_states"], stamp="receive")["/joint_states"]
    assert (joints.index.asi8 == T0 + np.arange(20) * 10_000_000 + RECEIVE_DELAY).all()


def test_bag_without_embedded_definitions_uses_builtin_ros2_types(tmp_path):
    import sqlite3

    from rosbags.highlevel import AnyReader, AnyReaderError

    folder = write_bag(tmp_path / "humble", "sqlite3", robot_records(n_joint=4))
    with sqlite3.connect(folder / "humble.db3") as db:  # ROS 2 Humble's sqlite3 storage has none
        db.execute("DELETE FROM message_definitions")
    with pytest.raises(AnyReaderError, match="no type definitions"):
        AnyReader([folder]).open()
    frames = read_topics(folder)
    assert frames["/ft"]["/ft/wrench.force.x"].tolist() == [0.0, 1.0]


def test_field_selection_and_any_numeric_field_by_path(tmp_path):
    records = robot_records() + [
        ("/motor/temp2", "sensor_msgs/msg/Temperature", T0 + i * 10**8 + RECEIVE_DELAY, lambda ts, i=i: temperature(ts, T0 + i * 10**8, 30.0 + i))
        for i in range(3)
    ]
    path = write_bag(tmp_path / "sel", "sqlite3", records)
    frames = read_topics(path, ["/ft:wrench.force.z", "/joint_states:effort", "/motor/temp2:temperature,header.stamp.nanosec"])
    assert list(frames) == ["/ft", "/joint_states", "/motor/temp2"]
    assert frames["/ft"]["/ft/wrench.force.z"].tolist() == [-float(i) for i in range(10)]
    assert list(frames["/joint_states"].columns) == ["/joint_states/effort/shoulder", "/joint_states/effort/elbow"]
    temp2 = frames["/motor/temp2"]
    assert temp2["/motor/temp2/temperature"].tolist() == [30.0, 31.0, 32.0]
    assert temp2["/motor/temp2/header.stamp.nanosec"].tolist() == [0.0, 1e8, 2e8]


def test_default_joint_channels_skip_fields_empty_in_every_message(tmp_path):
    records = [("/js", "sensor_msgs/msg/JointState", T0 + i, lambda ts, i=i: joint_state(ts, T0 + i, position=(i, i))) for i in range(1, 4)]
    path = write_bag(tmp_path / "js.bag", "ros1", records)
    assert list(read_topics(path)["/js"].columns) == ["/js/position/shoulder", "/js/position/elbow"]
    with pytest.raises(DataError, match="field 'effort' is empty in every message"):
        read_topics(path, ["/js:effort"])


def test_joint_order_may_change_values_follow_names(tmp_path):
    records = [
        ("/js", "sensor_msgs/msg/JointState", T0 + 1, lambda ts: joint_state(ts, T0 + 1, ["a", "b"], (1.0, 2.0))),
        ("/js", "sensor_msgs/msg/JointState", T0 + 2, lambda ts: joint_state(ts, T0 + 2, ["b", "a"], (20.0, 10.0))),
    ]
    frame = read_topics(write_bag(tmp_path / "o.bag", "ros1", records))["/js"]
    assert frame["/js/position/a"].tolist() == [1.0, 10.0]
    assert frame["/js/position/b"].tolist() == [2.0, 20.0]


def test_imu_groups_marked_unavailable_are_left_out_unless_named(tmp_path):
    records = [("/imu", "sensor_msgs/msg/Imu", T0 + i, lambda ts, i=i: imu(ts, T0 + i, (i, 0, 0), (0, 0, 9.8), orientation_known=False)) for i in range(1, 4)]
    path = write_bag(tmp_path / "i.bag", "ros1", records)
    assert [c for c in read_topics(path)["/imu"].columns if "orientation" in c] == []
    assert list(read_topics(path, ["/imu:orientation.w"])["/imu"].columns) == ["/imu/orientation.w"]


def test_read_bag_aligns_topics_and_read_table_carries_the_report(tmp_path):
    path = write_bag(tmp_path / "run.bag", "ros1", robot_records())
    frame, report = read_bag(path, rate_hz=100)
    # the grid ends at the last wrench sample (0.18 s): 19 rows at 100 Hz
    assert frame.shape == (19, 6 + 10 + 6 + 1)
    assert frame.index[-1] == pd.Timestamp("2026-01-01 00:00:00.18")
    assert report.grid_rows == report.rows == 19 and report.rows_dropped == 0
    # the 50 Hz wrench is held for one 100 Hz row, then replaced
    assert frame["/ft/wrench.force.x"].tolist() == [float(i // 2) for i in range(19)]
    assert report.topics["/ft"].matched == 19 and report.topics["/imu"].unused == 80 - 19
    table = read_table(path, rate_hz=100)
    assert table.frame.equals(frame) and table.labels.shape == (19, 0)
    assert table.metadata["alignment"] == report.to_dict()


@pytest.mark.parametrize("spec", ["", ":data", "/t:", "/t:a..b", "/t:a,"])
def test_malformed_topic_selection(spec):
    with pytest.raises(ConfigError, match="must look like /topic"):
        parse_topic(spec)


def test_missing_empty_and_corrupted_files(tmp_path):
    with pytest.raises(DataError, match="nope.bag: file not found"):
        read_topics(tmp_path / "nope.bag")
    (tmp_path / "empty.mcap").write_bytes(b"")
    with pytest.raises(DataError, match="empty.mcap: empty file"):
        read_topics(tmp_path / "empty.mcap")
    good = write_bag(tmp_path / "good.bag", "ros1", robot_records())
    (tmp_path / "cut.bag").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="cut.bag: cannot read bag"):
        read_topics(tmp_path / "cut.bag")
    (tmp_path / "junk.mcap").write_bytes(b"\x89MCAP0\r\n" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="junk.mcap: cannot read bag"):
        read_topics(tmp_path / "junk.mcap")
    folder = write_bag(tmp_path / "db", "sqlite3", robot_records())
    (folder / "metadata.yaml").write_text("rosbag2_bagfile_information: [not, a, mapping")
    with pytest.raises(DataError, match="db: cannot read bag"):
        read_topics(folder)
    (folder / "metadata.yaml").unlink()
    assert is_bag(folder)
    with pytest.raises(DataError, match="without metadata.yaml"):
        read_topics(folder)


def test_corrupted_sqlite_storage(tmp_path):
    folder = write_bag(tmp_path / "db", "sqlite3", robot_records())
    db = folder / "db.db3"
    data = bytearray(db.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)
    db.write_bytes(bytes(data))
    with pytest.raises(DataError, match="db: cannot read bag"):
        read_topics(folder)


def test_fewer_messages_than_the_index_lists(tmp_path):
    folder = write_bag(tmp_path / "db", "sqlite3", robot_records())
    meta = folder / "metadata.yaml"
    text = meta.read_text()
    assert text.count("message_count: 80") == 1  # the /imu topic's entry
    meta.write_text(text.replace("message_count: 80", "message_count: 81"))
    with pytest.raises(DataError, match="topic '/imu': read 80 messages but the bag's index lists 81"):
        read_topics(folder)


@pytest.mark.parametrize(
    ("topics", "error", "match"),
    [
        (["/nope"], SchemaError, r"topic '/nope' not found; the bag has \['/ft', '/imu', '/joint_states', '/motor/temp'\]"),
        (["/ft:wrench.force.q"], SchemaError, r"no field 'wrench.force.q' \(wrench.force has fields \['x', 'y', 'z'\]\)"),
        (["/ft:header.frame_id"], SchemaError, "field 'header.frame_id' is str, not a number"),
        (["/ft:wrench"], SchemaError, "field 'wrench' is geometry_msgs/msg/Wrench, not a number"),
        (["/imu:orientation_covariance"], SchemaError, "is an array of 9 values, not a number"),
        (["/joint_states", "/joint_states:effort"], ConfigError, "selected twice"),
    ],
)
def test_bad_selections(tmp_path, topics, error, match):
    path = write_bag(tmp_path / "run.bag", "ros1", robot_records(n_joint=4))
    with pytest.raises(error, match=match):
        read_topics(path, topics)


def test_unsupported_type_needs_fields_and_no_supported_topic_at_all(tmp_path):
    records = [("/t", "sensor_msgs/msg/Temperature", T0 + i, lambda ts, i=i: temperature(ts, T0 + i, 1.0)) for i in range(1, 3)]
    path = write_bag(tmp_path / "t.bag", "ros1", records)
    with pytest.raises(SchemaError, match="type sensor_msgs/msg/Temperature with no default channels; name fields as /t:field.path"):
        read_topics(path, ["/t"])
    with pytest.raises(DataError, match="no topic of a supported type"):
        read_topics(path)


@pytest.mark.parametrize("kind", ["ros1", "sqlite3"])
def test_empty_topic(tmp_path, kind):
    path = write_bag(bag_path(tmp_path, kind), kind, robot_records(n_joint=4), empty_topics=[("/gripper", "std_msgs/msg/Float64")])
    with pytest.raises(DataError, match="topic '/gripper' has no messages"):
        read_topics(path, ["/gripper"])


def test_inconsistent_joint_names_and_array_lengths(tmp_path):
    renamed = [
        ("/js", "sensor_msgs/msg/JointState", T0 + 1, lambda ts: joint_state(ts, T0 + 1, ["a", "b"], (1.0, 2.0))),
        ("/js", "sensor_msgs/msg/JointState", T0 + 2, lambda ts: joint_state(ts, T0 + 2, ["a", "c"], (1.0, 2.0))),
    ]
    with pytest.raises(SchemaError, match=r"message 1 names joints \['a', 'c'\], the first message \['a', 'b'\]"):
        read_topics(write_bag(tmp_path / "n.bag", "ros1", renamed))
    short = [
        ("/js", "sensor_msgs/msg/JointState", T0 + 1, lambda ts: joint_state(ts, T0 + 1, ["a", "b"], (1.0, 2.0))),
        ("/js", "sensor_msgs/msg/JointState", T0 + 2, lambda ts: joint_state(ts, T0 + 2, ["a", "b"], (1.0,))),
    ]
    with pytest.raises(SchemaError, match="message 1 has 1 position values for 2 joints"):
        read_topics(write_bag(tmp_path / "s.bag", "ros1", short))
    partly = [
        ("/js", "sensor_msgs/msg/JointState", T0 + 1, lambda ts: joint_state(ts, T0 + 1, ["a"], (1.0,), velocity=(0.5,))),
        ("/js", "sensor_msgs/msg/JointState", T0 + 2, lambda ts: joint_state(ts, T0 + 2, ["a"], (1.0,))),
    ]
    with pytest.raises(SchemaError, match=r"field 'velocity' is empty in 1 of 2 messages \(first: message 1\)"):
        read_topics(write_bag(tmp_path / "p.bag", "ros1", partly))


def test_unset_and_repeated_header_stamps(tmp_path):
    unset = [("/js", "sensor_msgs/msg/JointState", T0 + i, lambda ts: joint_state(ts, 0)) for i in range(1, 3)]
    path = write_bag(tmp_path / "u.bag", "ros1", unset)
    with pytest.raises(DataError, match=r"header stamp is 0 \(unset\) in 2 messages; read with stamp='receive'"):
        read_topics(path)
    assert read_topics(path, stamp="receive")["/js"].index.asi8.tolist() == [T0 + 1, T0 + 2]
    repeated = [("/js", "sensor_msgs/msg/JointState", T0 + i, lambda ts: joint_state(ts, T0)) for i in range(1, 3)]
    with pytest.raises(DataError, match="1 messages repeat the header time of another"):
        read_topics(write_bag(tmp_path / "r.bag", "ros1", repeated))


def test_out_of_order_header_stamps_are_sorted(tmp_path):
    records = [("/js", "sensor_msgs/msg/JointState", T0 + i, lambda ts, i=i: joint_state(ts, T0 + 10 - i, position=(i, i))) for i in range(1, 4)]
    frame = read_topics(write_bag(tmp_path / "s.bag", "ros1", records))["/js"]
    assert frame.index.asi8.tolist() == [T0 + 7, T0 + 8, T0 + 9]
    assert frame["/js/position/shoulder"].tolist() == [3.0, 2.0, 1.0]


def test_bag_options_are_refused_for_tables(tmp_path):
    (tmp_path / "f.csv").write_text("a\n1\n2\n")
    with pytest.raises(ConfigError, match="apply only to ROS bags"):
        read_table(tmp_path / "f.csv", topics=["/joint_states"])
    path = write_bag(tmp_path / "run.bag", "ros1", robot_records(n_joint=4))
    with pytest.raises(ConfigError, match="do not apply to bags"):
        read_table(path, timestamp="time")


def test_cli_fit_and_score_a_bag(tmp_path):
    from typer.testing import CliRunner

    from anomaly.cli import app

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(600, 3)), axis=0)
    speed = walk * 0.5 + rng.normal(size=(600, 3))
    records = [
        ("/joint_states", "sensor_msgs/msg/JointState", T0 + i * 10**7 + RECEIVE_DELAY,
         lambda ts, i=i: joint_state(ts, T0 + i * 10**7, ["a", "b", "c"], walk[i], velocity=speed[i]))
        for i in range(600)
    ] + [("/motor/temp", "std_msgs/msg/Float64", T0 + i * 10**9, lambda ts, i=i: float64(ts, 40.0 + i)) for i in range(7)]
    path = write_bag(tmp_path / "run.bag", "ros1", records)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    fitted = invoke("fit", path, "--detector", "pca", "-o", tmp_path / "model")
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", path, "--model", tmp_path / "model", "-o", tmp_path / "s.parquet")
    assert scored.exit_code == 0, scored.output
    scores = pd.read_parquet(tmp_path / "s.parquet")
    assert len(scores) == 600 and scores["timestamp"].iloc[0] == pd.Timestamp("2026-01-01")

    selected = ["--topic", "/joint_states:position", "--rate", 50]
    assert invoke("fit", path, "--detector", "pca", "-o", tmp_path / "m2", *selected).exit_code == 0
    assert invoke("score", path, "--model", tmp_path / "m2", "-o", tmp_path / "s2.csv", *selected).exit_code == 0
    assert len(pd.read_csv(tmp_path / "s2.csv")) == 300  # 0 .. 5.98 s at 50 Hz

    wrong = invoke("score", path, "--model", tmp_path / "model", "-o", tmp_path / "s3.csv", "--topic", "/joint_states:position")
    assert wrong.exit_code == 2 and "missing channels" in wrong.output and not (tmp_path / "s3.csv").exists()
    unknown = invoke("fit", path, "-o", tmp_path / "m3", "--topic", "/nope")
    assert unknown.exit_code == 2 and "topic '/nope' not found" in unknown.output
