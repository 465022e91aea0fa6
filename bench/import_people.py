"""Import a generated million-person registry CSV into a fresh database; print the timings as JSON.

    python bench/import_people.py --people 1000000 --db sqlite --json
    python bench/import_people.py --people 1000000 --db postgresql --json

The district is generated (sweep.demo.district) and written as a community would keep it, a
buildings sheet and a people sheet with Chinese headers, by a child process, so that the peak
memory reported is the import's own. The database is new (an SQLite file in a temporary
directory, or a PostgreSQL database created for the run and dropped afterwards). `seconds` is
the people import alone: reading, detecting the encoding, validating every row, writing, commit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text

PG_ADMIN = os.environ.get("SWEEP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
KEY = "bench-secret"


def write_files(people: int, seed: int, folder: Path, encoding: str) -> None:
    """The district as two spreadsheets: 楼栋.csv and 人员.csv."""
    from sweep.demo.district import generate_district

    district = generate_district(people=people, seed=seed)
    grid_comm = [g.community for g in district.grids]
    b = district.buildings
    kinds = {"dormitory": "宿舍", "compound": "小区", "village": "村"}
    with (folder / "buildings.csv").open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(["办事处", "办事处名称", "社区编码", "社区名称", "网格编码", "楼栋编码", "楼栋名称", "类型", "经度", "纬度", "户数"])
        for i in range(len(b.code)):
            c = district.communities[grid_comm[int(b.grid[i])]]
            o = district.offices[c.office]
            w.writerow([o.code, o.name, c.code, c.name, district.grids[int(b.grid[i])].code, b.code[i], b.name[i],
                        kinds[str(b.kind[i])], f"{b.lon[i]:.6f}", f"{b.lat[i]:.6f}", int(b.households[i])])
    p = district.people
    groups = ("", "机场工作人员", "冷链从业人员", "隔离酒店工作人员")
    unit = p.unit.tolist()
    key_group = p.key_group.tolist()
    home = p.home_sampling.tolist()
    building = p.building.tolist()
    with (folder / "people.csv").open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow([f"{district.offices[0].name}人员登记表"])
        w.writerow(["姓名", "公民身份号码", "联系电话", "楼栋编码", "单元", "房号", "人员类别", "上门采样"])
        w.writerows(
            [p.name[i], p.id_number[i], p.phone[i], b.code[building[i]], unit[i] or "", p.room[i], groups[key_group[i]],
             "是" if home[i] else ""]
            for i in range(len(p.name))
        )


def fresh_database(kind: str, folder: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.db", None
    from sweep.db import normalise_url

    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    name = f"sweep_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(normalise_url(PG_ADMIN)).set(database=name).render_as_string(hide_password=False), (admin, name)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_pid(session) -> int | None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _server_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a PostgreSQL backend on this machine (from /proc), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, folder: Path) -> dict:
    from sweep import migrate
    from sweep.auth.scope import Scope
    from sweep.db import make_engine, make_session_factory, unit_of_work
    from sweep.demo.district import KEY_GROUPS
    from sweep.registry.importer import import_file
    from sweep.registry.models import KeyGroup, Person

    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--write", str(folder), "--people", str(args.people), "--seed",
                    str(args.seed), "--encoding", args.encoding], check=True)
    write_s = time.perf_counter() - t
    url, pg = fresh_database(args.db, folder)
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            session.add_all(KeyGroup(code=k.code, name=k.name_zh, test_every_days=k.test_every_days) for k in KEY_GROUPS)
            t = time.perf_counter()
            with (folder / "buildings.csv").open("rb") as f:
                buildings = import_file(session=session, kind="buildings", stream=f, filename="楼栋.csv", key=KEY, scope=Scope.system())
        buildings_s = time.perf_counter() - t

        load_before = os.getloadavg()[0]
        cpu0, t = _cpu(), time.perf_counter()
        with unit_of_work(factory) as session, (folder / "people.csv").open("rb") as f:
            backend = _backend_pid(session)
            server0 = _server_cpu(backend)
            report = import_file(session=session, kind="people", stream=f, filename="人员.csv", key=KEY, scope=Scope.system())
            server1 = _server_cpu(backend)
        seconds = time.perf_counter() - t
        cpu = _cpu() - cpu0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {
            "db": args.db, "rows": report.rows, "imported": report.imported, "rejected_rows": report.rejected_rows,
            "seconds": round(seconds, 2), "rows_per_s": round(report.rows / seconds), "peak_rss_mb": round(rss),
            "buildings": buildings.imported, "buildings_s": round(buildings_s, 2), "write_files_s": round(write_s, 2),
            "file_mb": round((folder / "people.csv").stat().st_size / 2**20, 1), "encoding": args.encoding,
            # The machine is shared: CPU seconds (this process, and the PostgreSQL backend serving it) show
            # what the import costs when it has the cores to itself; the load average shows the contention.
            "cpu_s": round(cpu, 2), "server_cpu_s": None if server0 is None else round(server1 - server0, 2),
            "load_avg": round(load_before, 1),
        }
        if args.reimport:
            t = time.perf_counter()
            with unit_of_work(factory) as session, (folder / "people.csv").open("rb") as f:
                again = import_file(session=session, kind="people", stream=f, filename="人员.csv", key=KEY, scope=Scope.system())
            result["reimport_s"] = round(time.perf_counter() - t, 2)
            result["reimport_unchanged"] = again.unchanged
        with unit_of_work(factory) as session:
            result["people_in_db"] = session.scalar(select(func.count()).select_from(Person))
        engine.dispose()
        return result
    finally:
        if pg is not None:
            admin, name = pg
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--encoding", default="utf-8-sig", help="of the generated CSV (utf-8-sig, gb18030, …)")
    parser.add_argument("--reimport", action="store_true", help="also time importing the same file again")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.write:
        write_files(args.people, args.seed, Path(args.write), args.encoding)
        return
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        result = run(args, Path(tmp))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
