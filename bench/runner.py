"""One benchmark run: shared set-up, each chosen benchmark, and the document they fill."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench import environment, fairness, images, memory, overload, pipeline, raw, report, yolo_cli
from bench.context import RunContext, flush_redis
from bench.model import is_untrained, resolve_model
from bench.service import Service, prepare_database, prepare_facility, stop_quietly
from bench.stats import ratio

BATCHING_IMAGES = 48


class Runner:
    def __init__(self, args: argparse.Namespace, context: RunContext, chosen: list[str]) -> None:
        self.args = args
        self.context = context
        self.chosen = chosen
        self.device = environment.gpu_device(args.device) or "cpu"
        self.service: Service | None = None
        self.benchmarks: dict[str, Any] = {}

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        model_path = resolve_model(self.args.model, self.context.work_dir)
        self.setup = prepare_database(model_path)
        self.paths, self.folder = images.prepare(
            self.args.seed, self.args.images, self.args.image_cache, self.context.work_dir
        )
        from inspection.inference.registry import checksum

        env = environment.describe(model_path, checksum(model_path), self.context.mode)
        self.model = raw.load_model(model_path, self.setup.input_size, self.device, self.threads())
        env["torch_threads_after_model_load"] = environment.torch_threads()
        env["inference_runtime"] = self.model.runtime  # e.g. openvino cpu threads=2 hint=...
        try:
            self._run_chosen(model_path)
        finally:
            stop_quietly(self.service)
            flush_redis(self.context)
        return self._document(env, model_path, time.monotonic() - started)

    def threads(self) -> int | None:
        from inspection.inference import runtime

        return runtime.cpu_threads() if self.device == "cpu" else None

    def _run_chosen(self, model_path: Path) -> None:
        if "batching" in self.chosen:
            self._section("batching", self._batching)
        if set(self.chosen) - {"batching"}:
            self.service = Service(self.context)
            self.service.start()
        if "throughput" in self.chosen:
            self._section("throughput", lambda: self._throughput(model_path))
        if "latency" in self.chosen:
            self._section("latency", self._latency)
        if "fairness" in self.chosen:
            self._section("fairness", self._fairness)
        if "memory" in self.chosen:
            self._section("memory", self._memory)
        if "overload" in self.chosen:
            self._section("overload", self._overload)
        if "ceiling" in self.chosen:  # last: it swaps the model for one that costs nothing
            self._section("ceiling", self._ceiling)

    def _section(self, name: str, measure: Any) -> None:
        """Run one benchmark with the CPU load before and after it (other processes included)."""
        print(f"[bench] {name} ...", flush=True)
        ours = self.service.pids() if self.service else set()
        load_before = environment.cpu_load(ours)
        started = time.monotonic()
        result = measure()
        result["cpu_load_before"] = load_before
        result["cpu_load_after"] = environment.cpu_load(ours)
        result["wall_seconds"] = round(time.monotonic() - started, 1)
        self.benchmarks[name] = result

    def _batching(self) -> dict[str, Any]:
        decode = raw.project_decoder(self.setup.input_size)
        arrays = [decode(path.read_bytes()) for path in self.paths[:BATCHING_IMAGES]]
        batch = self.batch_size()
        single = raw.model_only(self.model, arrays, 1, self.setup.conf)
        batched = raw.model_only(self.model, arrays, batch, self.setup.conf)
        result: dict[str, Any] = {
            "device": self.device,
            "single": single,
            "batched": batched,
            "batched_vs_single": ratio(batched["images_per_s"], single["images_per_s"]),
        }
        result["targets"] = report.batching_targets(result, self.device != "cpu")
        return result

    def batch_size(self) -> int:
        from django.conf import settings

        return int(settings.INFERENCE_BATCH_SIZE)

    def _throughput(self, model_path: Path) -> dict[str, Any]:
        rounds = [self._round(model_path, index) for index in range(self.args.rounds)]
        return {
            "batch_size": self.batch_size(),
            "rounds": rounds,
            "summary": report.throughput_targets(rounds),
        }

    def _round(self, model_path: Path, index: int) -> dict[str, Any]:
        print(f"[bench]   round {index + 1}/{self.args.rounds}", flush=True)
        batch, conf = self.batch_size(), self.setup.conf
        decode = raw.project_decoder(self.setup.input_size)
        return {
            "raw_loop_preprocess": raw.raw_loop(self.model, self.paths, decode, batch, conf),
            "raw_loop_cv2": raw.raw_loop(self.model, self.paths, raw.cv2_decode, batch, conf),
            "yolo_predict": yolo_cli.measure(
                model_path,
                self.folder,
                self.paths[0],
                self.args.device,
                self.setup.input_size,
                self.context.work_dir,
            ),
            "pipeline": pipeline.throughput(
                self._service(), self.setup, self.paths, self.args.timeout
            ),
        }

    def _latency(self) -> dict[str, Any]:
        decode = raw.project_decoder(self.setup.input_size)
        array = decode(self.paths[0].read_bytes())
        in_process = raw.single_image_ms(self.model, array, self.setup.conf)
        result = pipeline.latency(self._service(), self.setup, self.paths, self.args.latency_runs)
        result["model_ms_in_process_batch1"] = in_process
        result["targets"] = report.latency_targets(result)
        return result

    def _fairness(self) -> dict[str, Any]:
        other = prepare_facility("bench-dc-2", "Benchmark DC 2", self.setup.model_version_id)
        result = fairness.fairness(
            self._service(),
            self.setup,
            other,
            self.paths,
            self.args.fairness_images,
            self.args.fairness_samples,
            self.args.timeout,
        )
        result["targets"] = report.fairness_targets(result, self.args.fairness_samples)
        return result

    def _memory(self) -> dict[str, Any]:
        result = memory.memory(
            self._service(),
            self.setup,
            self.paths,
            self.args.memory_images,
            self.args.memory_chunk,
            self.args.timeout * 3,
        )
        result["targets"] = report.memory_targets(result)
        return result

    def _overload(self) -> dict[str, Any]:
        plan = overload.Plan(
            clients=self.args.overload_clients,
            seconds=self.args.overload_seconds,
            max_submissions=self.args.overload_max_submissions,
            images_per_submission=self.args.overload_batch,
            max_pending=self.args.overload_max_pending,
            retry_wait=self.args.overload_retry_wait,
        )
        result = overload.overload(self._service(), self.setup, self.paths, plan)
        result["targets"] = report.overload_targets(result)
        return result

    def _ceiling(self) -> dict[str, Any]:
        """The pipeline with a model that costs nothing (a GPU far faster than this CPU) against
        decoding and resizing alone in one process, over the same images."""
        loop = raw.decode_loop(self.paths, raw.project_decoder(self.setup.input_size))
        if "overload" in self.chosen:  # it left the web refusing past a few pending images
            self._service().restart_web({})
        self._service().restart_inference({"INFERENCE_BENCH_FIXED_BOXES": "1"})
        through = pipeline.throughput(self._service(), self.setup, self.paths, self.args.timeout)
        result: dict[str, Any] = {"decode_loop": loop, "pipeline_fixed_boxes": through}
        result["pipeline_vs_decode_loop"] = ratio(through["images_per_s"], loop["images_per_s"])
        result["targets"] = report.ceiling_targets(result)
        return result

    def _service(self) -> Service:
        assert self.service is not None
        return self.service

    def _document(self, env: dict[str, Any], model_path: Path, seconds: float) -> dict[str, Any]:
        env["load_at_end"] = environment.cpu_load()
        return {
            "schema": 1,
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "environment": env,
            "setup": {
                **self.setup.__dict__,
                "api_key": "(redacted)",
                "untrained_model": is_untrained(model_path),
                "images": len(self.paths),
                "image_folder_cache": str(
                    images.cache_folder(self.args.seed, self.args.image_cache)
                ),
                "work_dir": str(self.context.work_dir),
            },
            "benchmarks": self.benchmarks,
            "wall_seconds": round(seconds, 1),
        }
