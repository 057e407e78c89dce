"""The small languages inside the format: durations, sizes, instance types, ports, volumes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import units


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("10s", 10),
        ("1m30s", 90),
        ("2h", 7200),
        ("30d", 2_592_000),
        ("1h30m15s", 5415),
        ("1.5s", 1.5),
        ("250us", 0.00025),
    ],
)
def test_compose_durations(text: str, seconds: float) -> None:
    assert units.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "1x", "m", "1m 30s", "-5s", "1.s"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        units.parse_duration(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_a_formatted_duration_reads_back_the_same(micros: int) -> None:
    value = timedelta(microseconds=micros)
    assert units.parse_duration(units.format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512MB", 512_000_000),
        ("1GB", 10**9),
        ("1.5GiB", 1_610_612_736),
        ("512m", 512 * 1024**2),
        ("100", 100),
        (4096, 4096),
        ("10 kB", 10_000),
        ("1TiB", 1024**4),
    ],
)
def test_sizes(text: str | int, size: int) -> None:
    assert units.parse_size(text) == size


@pytest.mark.parametrize("text", ["512XB", "MB", "-1", "1,5GB", "one"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        units.parse_size(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128mb", 128 * 1024**2),  # docker's units (go-units RAMInBytes): every unit binary, any case
        ("128MB", 128 * 1024**2),
        ("128M", 128 * 1024**2),
        ("128MiB", 128 * 1024**2),
        ("1.5g", 1_610_612_736),
        ("64k", 65_536),
        ("2 GB", 2 * 1024**3),
        ("1p", 1024**5),
        ("100", 100),
        ("100b", 100),
        (4096, 4096),
    ],
)
def test_sizes_in_compose_fields_are_dockers(text: str | int, size: int) -> None:
    assert units.parse_ram(text) == size


@pytest.mark.parametrize("text", ["512XB", "MB", "-1", "1,5GB", "one", "12i"])
def test_bad_compose_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        units.parse_ram(text)


@pytest.mark.parametrize(
    "text",
    ["c7i.8xlarge", "t3.2xlarge", "m5.metal", "u-6tb1.metal", "c7i-flex.large", "m7i.metal-24xl", "t4g.nano", "mac2-m2pro.metal"],
)
def test_instance_types(text: str) -> None:
    assert str(units.parse_instance_type(text)) == text


@pytest.mark.parametrize("text", ["c7i-8xlarge", "c7i", "C7I.8XLARGE", "c7i.huge", ".large", "xlarge.c7i"])
def test_bad_instance_types(text: str) -> None:
    with pytest.raises(ValueError, match="invalid EC2 instance type"):
        units.parse_instance_type(text)


def test_instance_type_family() -> None:
    assert units.parse_instance_type("c7i.8xlarge").family == "c7i"


@pytest.mark.parametrize("name", ["bqx-ml-phase2-features", "abc", "a.b-c", "a" * 63])
def test_bucket_names(name: str) -> None:
    assert units.check_bucket_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [("ab", "3 to 63"), ("a" * 64, "3 to 63"), ("Abc", "lowercase"), ("a_b", "lowercase"), ("-ab", "begin and end"), ("a..b", "'..'"),
     ("10.0.0.1", "IP address"), ("sthree-x", "reserved"), ("x-s3alias", "reserved"), ("amzn-s3-demo-x", "reserved")],
)  # fmt: skip
def test_bad_bucket_names_say_which_rule(name: str, rule: str) -> None:
    with pytest.raises(ValueError, match="invalid S3 bucket name") as caught:
        units.check_bucket_name(name)
    assert rule in str(caught.value)


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("80", units.PortMapping(80, 80)),
        ("8080:80", units.PortMapping(80, 80, 8080, 8080)),
        ("127.0.0.1:9121:9121", units.PortMapping(9121, 9121, 9121, 9121, "127.0.0.1")),
        ("127.0.0.1::80", units.PortMapping(80, 80, None, None, "127.0.0.1")),
        ("[::1]:80:80/udp", units.PortMapping(80, 80, 80, 80, "::1", "udp")),
        ("8000-8010:8000-8010", units.PortMapping(8000, 8010, 8000, 8010)),
        ("9090-9091:8080-8081/sctp", units.PortMapping(8080, 8081, 9090, 9091, None, "sctp")),
    ],
)
def test_compose_ports_round_trip(text: str, mapping: units.PortMapping) -> None:
    assert units.parse_port(text) == mapping
    assert str(mapping) == text


@pytest.mark.parametrize(
    "text", ["0:80", "80:0", "8000-8010:8000-8005", "1.2.3:80:80", "80:80/icmp", "a:b", "1:2:3:4", "90-80:90-80", ":80"]
)
def test_bad_ports(text: str) -> None:
    with pytest.raises(ValueError, match=r"port|IP"):
        units.parse_port(text)


def test_volumes() -> None:
    assert units.parse_volume("data:/data") == units.VolumeMount("data", "/data")
    assert units.parse_volume("/etc/ssl:/etc/ssl:ro") == units.VolumeMount("/etc/ssl", "/etc/ssl", True)
    assert units.parse_volume("/srv:/srv:rw").is_bind


def test_addresses() -> None:
    assert units.Address.parse("container.web") == units.Address("container", "web")
    assert str(units.Address.parse("cost_doc.docs/costs.md")) == "cost_doc.docs/costs.md"
    with pytest.raises(ValueError, match="invalid address"):
        units.Address.parse("vm.web")
