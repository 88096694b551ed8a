"""Artifact upload and download through the MLflow client against fakeflow over loopback HTTP:
throughput, and peak Python memory (tracemalloc: client and server share this process, so the
figure bounds both). Bodies stream in and out in chunks, so the peak should stay near one copy
of the file (the stored one), well under twice its size.

    python -m benchmarks.bench_artifacts            # 100 MB
    python -m benchmarks.bench_artifacts --quick    # 16 MB, for CI
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

MB = 1024 * 1024


def _write_file(path: Path, size: int) -> None:
    block = os.urandom(MB)
    with open(path, "wb") as out:
        for _ in range(size // MB):
            out.write(block)
        out.write(block[: size % MB])


def measure(size: int) -> dict[str, Any]:
    """Upload then download one ``size``-byte file with the real client; time and peak memory."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    import fakeflow
    from fakeflow.server import ThreadedServer

    with tempfile.TemporaryDirectory() as work, ThreadedServer(fakeflow.create_app()) as server:
        source = Path(work) / "payload.bin"
        _write_file(source, size)
        client = mlflow.MlflowClient(tracking_uri=server.url)
        run_id = client.create_run("0").info.run_id
        gc.collect()
        tracemalloc.start()
        try:
            start = time.perf_counter()
            client.log_artifact(run_id, str(source))
            upload_s = time.perf_counter() - start
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            start = time.perf_counter()
            target = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=f"{client.get_run(run_id).info.artifact_uri}/payload.bin",
                dst_path=str(Path(work) / "down"), tracking_uri=server.url))
            download_s = time.perf_counter() - start
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        same = target.stat().st_size == size and _same_bytes(source, target)
    return {
        "size_bytes": size,
        "upload_seconds": round(upload_s, 3),
        "download_seconds": round(download_s, 3),
        "upload_mb_per_s": round(size / MB / upload_s, 1),
        "download_mb_per_s": round(size / MB / download_s, 1),
        "upload_peak_bytes": upload_peak,
        "download_peak_bytes": download_peak,
        "peak_over_size": round(max(upload_peak, download_peak) / size, 2),
        "round_trip_identical": same,
    }


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as left, open(b, "rb") as right:
        while True:
            x, y = left.read(MB), right.read(MB)
            if x != y:
                return False
            if not x:
                return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 MB instead of 100 MB")
    parser.add_argument("--size-mb", type=int, default=None, help="file size in MB")
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    size = (args.size_mb or (16 if args.quick else 100)) * MB
    figures = measure(size)
    verdict = "OK" if figures["round_trip_identical"] and figures["peak_over_size"] < 1.6 else "FAIL"
    print(f"artifact {size // MB} MB: upload {figures['upload_mb_per_s']} MB/s, download "
          f"{figures['download_mb_per_s']} MB/s, peak memory {figures['peak_over_size']}x the "
          f"file (upload {figures['upload_peak_bytes'] // MB} MB, download "
          f"{figures['download_peak_bytes'] // MB} MB), bytes identical: "
          f"{figures['round_trip_identical']} -> {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
