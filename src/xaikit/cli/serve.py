"""``xaikit serve``: explanations over HTTP (FastAPI + uvicorn), from a model file or a saved bundle.

``xaikit serve --model FILE --background FILE [--method auto]`` serves a model file (the formats of
``xaikit explain``; pickles only with ``--trust-pickle``) with background rows from a CSV or Parquet
file. ``--save-bundle DIR`` writes those as a bundle folder (model file copied, background, settings;
see :mod:`xaikit.serve.bundle`) and exits; ``xaikit serve --bundle DIR`` serves a bundle. The API key,
when wanted, is read from the environment variable named by ``--api-key-env`` (never from the command
line). One JSON line per request is logged on stderr. See ``docs/service.md``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, load_model_file, read_table

__all__ = ["build_bundle", "register", "run"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "serve",
        help="serve explanations of a model over HTTP",
        description="Serve POST /explain, /predict, /jobs, GET /methods, /health for a model file with its background "
        "rows (--model, --background) or a saved bundle (--bundle). --save-bundle DIR writes the bundle and exits.",
        epilog="Examples: xaikit serve --model model.json --background bg.csv --port 8000 --api-key-env XAIKIT_API_KEY; "
        "xaikit serve --model model.json --background bg.csv --save-bundle explainer/; xaikit serve --bundle explainer/",
    )
    p.add_argument("--model", metavar="FILE", help="the model file (the formats of 'xaikit explain')")
    p.add_argument("--background", metavar="FILE", help="background rows: CSV or Parquet with a header row")
    p.add_argument("--bundle", metavar="DIR", help="a bundle folder written by --save-bundle (instead of --model/--background)")
    p.add_argument("--save-bundle", metavar="DIR", help="write --model, --background and the settings as a bundle folder, then exit")
    p.add_argument("--method", default="auto", help="the default method: auto, tree-shap, exact-shapley, kernel-shap, "
                   "leverage-shap or permutation-shap (default: auto)")
    p.add_argument("--output", choices=("auto", "probability", "log_odds", "raw"), default="auto", help="the default output explained")
    p.add_argument("--n-samples", type=int, metavar="N", help="default budget of sampled methods (coalitions per row)")
    p.add_argument("--random-state", type=int, default=0, metavar="S", help="default seed of sampled methods (default: 0)")
    p.add_argument("--tree-algorithm", choices=("interventional", "path_dependent"), default="interventional",
                   help="TreeSHAP over the background (default), or path_dependent over the trees' cover (faster)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--api-key-env", metavar="NAME", help="require the X-API-Key header, with the key held in this environment variable")
    p.add_argument("--trust-pickle", action="store_true", help="load pickled model files: runs code from the file")
    p.add_argument("--max-rows", type=int, default=1000, metavar="N", help="rows per /explain request (default: 1000)")
    p.add_argument("--max-job-rows", type=int, default=100_000, metavar="N", help="rows per /jobs request (default: 100000)")
    p.add_argument("--max-body-bytes", type=int, default=10_000_000, metavar="N", help="largest request body (default: 10 MB)")
    p.add_argument("--cache-size", type=int, default=4096, metavar="N", help="answers cached (default: 4096; 0: none)")
    p.add_argument("--no-micro-batch", action="store_true", help="do not join concurrent requests into one explain call")
    p.add_argument("--batch-window-ms", type=float, default=2.0, metavar="MS", help="how long a batch waits for more requests (default: 2)")
    p.set_defaults(run=run)
    return p


def build_bundle(args: argparse.Namespace) -> Any:
    """The bundle ``args`` name: read from ``--bundle``, or made from ``--model`` and ``--background``."""
    from xaikit.models.files import feature_names_of
    from xaikit.serve.bundle import load_bundle, make_bundle

    if args.bundle is not None:
        if args.model is not None or args.background is not None:
            raise BadInput("--bundle: a bundle holds its model and background; leave --model and --background out")
        return load_bundle(args.bundle, trust_pickle=args.trust_pickle)
    if args.model is None or args.background is None:
        raise BadInput("--model: expected --model FILE and --background FILE (or --bundle DIR), got "
                       + ("neither" if args.model is None and args.background is None else "only one of them"))
    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    names = feature_names_of(model)
    frame = read_table(args.background, "--background")
    if names is not None:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise BadInput(f"--background: {args.background!r} lacks column(s) the model was fitted on: {', '.join(missing[:10])}")
        frame = frame[names]
    background: Any = frame
    if not hasattr(model, "feature_names_in_"):
        bad = [str(c) for c, dtype in frame.dtypes.items() if dtype.kind not in "biuf"]
        if bad:
            raise BadInput(f"--background: expected numeric columns for this model, got non-numeric column(s) {', '.join(bad[:10])}")
        background = frame.to_numpy(dtype="float64")
    parameters: dict[str, Any] = {"random_state": args.random_state}
    if args.tree_algorithm != "interventional":
        parameters["tree_algorithm"] = args.tree_algorithm
    if args.n_samples is not None:
        parameters["n_samples"] = args.n_samples
    method = args.method.strip().lower().replace("-", "_")
    return make_bundle(args.model, background, method=method, output=args.output, parameters=parameters,
                       feature_names=None if hasattr(background, "columns") else [str(c) for c in frame.columns],
                       trust_pickle=args.trust_pickle)


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit serve`` with parsed arguments."""
    import logging
    import sys

    bundle = build_bundle(args)
    if args.save_bundle is not None:
        from xaikit.serve.bundle import save_bundle

        out = save_bundle(bundle, args.save_bundle)
        print(f"bundle of {os.path.basename(bundle.model_path)} ({len(bundle.feature_names)} features, method {bundle.method}) "
              f"saved to {out}; version {bundle.model_version[:12]}")
        return EXIT_OK
    api_key = None
    if args.api_key_env is not None:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise BadInput(f"--api-key-env: expected the environment variable {args.api_key_env!r} to hold the API key, got it unset or empty")
    import uvicorn

    from xaikit.serve.app import create_app

    app = create_app(bundle, max_rows=args.max_rows, max_job_rows=args.max_job_rows, max_body_bytes=args.max_body_bytes,
                     api_key=api_key, micro_batch=not args.no_micro_batch, batch_window_ms=args.batch_window_ms,
                     cache_size=args.cache_size, trust_pickle=args.trust_pickle)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("xaikit.serve")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    if not args.quiet:
        print(f"serving {bundle.model_version[:12]} ({bundle.method}) on http://{args.host}:{args.port} "
              f"(OpenAPI: /docs, /openapi.json){'; API key required' if api_key else ''}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK
