"""The `recon` command: generate demo data, build a month, run the monthly job."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recon.config import Settings

DEMO_MONTH = "2026-10"


def _progress(message: str) -> None:
    print(f"  {message}", flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from recon.generate import generate

    out = Path(args.out)
    summary = generate(
        out_dir=out,
        seeds_dir=Path(args.seeds_out),
        answer_key_dir=Path(args.answer_key_out) if args.answer_key_out else out / "answer_key",
        accounts=args.accounts,
        months=args.months,
        seed=args.seed,
        end_month=args.end_month,
        progress=_progress,
    )
    print(f"generated {summary.get('months', [])} into {out}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from recon.dbt import run_dbt

    settings = Settings.from_env()
    print(f"dbt build for {args.month or 'the previous month'} on target {settings.target}")
    result = run_dbt("build", settings, args.month)
    if not result.success:
        print("dbt build failed:", file=sys.stderr)
        for failure in result.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    if settings.target == "duckdb":
        print(f"marts written to {settings.duckdb_path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(f"1/2 generating demo data into {settings.raw_dir}")
    generate_args = argparse.Namespace(
        out=str(settings.raw_dir),
        seeds_out=str(settings.seeds_dir),
        answer_key_out=None,
        accounts=60,
        months=6,
        seed=42,
        end_month=DEMO_MONTH,
    )
    cmd_generate(generate_args)
    print(f"2/2 reconciling {args.month}")
    return cmd_build(argparse.Namespace(month=args.month))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate", help="write messy demo raw files, seeds and an answer key"
    )
    generate.add_argument("--out", required=True, help="folder for the raw files")
    generate.add_argument("--accounts", type=int, default=60)
    generate.add_argument("--months", type=int, default=6)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--end-month", default=DEMO_MONTH, help="last generated month, YYYY-MM")
    generate.add_argument("--seeds-out", default="seeds", help="folder for the reference seeds")
    generate.add_argument("--answer-key-out", default=None, help="default: OUT/answer_key")
    generate.set_defaults(handler=cmd_generate)

    build = commands.add_parser("build", help="dbt build (models and tests) for one month")
    build.add_argument("--month", default=None, help="YYYY-MM; default: the previous month")
    build.set_defaults(handler=cmd_build)

    demo = commands.add_parser("demo", help="generate demo data and reconcile it, end to end")
    demo.add_argument("--month", default=DEMO_MONTH)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
