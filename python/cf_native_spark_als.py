"""The Spark side of `cf-native train` with `engine: spark` (shipped with cf-native).

Run by cf-native as `PYTHON cf_native_spark_als.py JOB.json`; not meant to be edited per run:
everything a run varies is in JOB.json, which cf-native writes:

  {"train": PATH, "model": PATH, "master": "local[2]", "app_name": "...",
   "conf": {"spark.driver.memory": "1g", ...},
   "als": {"rank": 64, "regParam": 0.05, "alpha": 20.0, "maxIter": 15, "seed": 42,
           "implicitPrefs": true, "nonnegative": false, ...}}

`train` is a Parquet table of `user: int`, `item: int`, `rating: float` (cf-native's dense
indices, so the factors come back keyed by them), readable wherever the master runs (a
local path in local mode, HDFS or S3 on a cluster). The fitted ALSModel is saved to `model`
with `ALSModel.save`, which cf-native then imports.

Progress goes to stdout as lines `@cf-native {json}` that cf-native prints as its own; a
failure is one such line with "event": "error" and exit status 1. Spark's own log (stderr)
is kept by cf-native and shown only when the job fails.
"""

import json
import sys
import time
import traceback

PREFIX = "@cf-native "


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(PREFIX + json.dumps(fields) + "\n")
    sys.stdout.flush()


def fail(code, message):
    emit("error", code=code, message=message)
    sys.exit(1)


def jvm_peak_rss_mb(spark):
    """Peak resident memory of the driver JVM (VmHWM), where /proc shows it; None elsewhere."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except Exception:
        return None
    return None


def main(argv):
    if len(argv) != 2:
        fail("ERR_CF_SPARK", "usage: cf_native_spark_als.py JOB.json")
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    try:
        import pyspark
        from pyspark.sql import SparkSession
        from pyspark.ml.recommendation import ALS
    except ImportError as e:
        fail("ERR_CF_SPARK_SETUP", f"{sys.executable} cannot import PySpark ({e}): install it with `{sys.executable} -m pip install pyspark numpy`")

    started = time.time()
    builder = SparkSession.builder.appName(job.get("app_name", "cf-native ALS")).master(job["master"])
    for key, value in (job.get("conf") or {}).items():
        builder = builder.config(key, str(value))
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # the JVM did not start: Java missing or too old, bad master URL
        fail("ERR_CF_SPARK_SETUP", f"Spark could not start ({type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else e}); Spark {pyspark.__version__} needs Java 17 or 21 on PATH or in JAVA_HOME")
    spark.sparkContext.setLogLevel("ERROR")
    # Without a checkpoint folder Spark ignores ALS's checkpointInterval, and the lineage of
    # the factor RDDs grows with every iteration until a task overflows its stack (around 20
    # iterations on a small machine). It must be where the executors can write (the workdir).
    if job.get("checkpoint_dir"):
        spark.sparkContext.setCheckpointDir(job["checkpoint_dir"])
    emit("session", spark=spark.version, pyspark=pyspark.__version__, master=spark.sparkContext.master,
         parallelism=spark.sparkContext.defaultParallelism, seconds=round(time.time() - started, 3))

    t = time.time()
    df = spark.read.parquet(job["train"])
    rows = df.count()
    emit("read", rows=rows, seconds=round(time.time() - t, 3))

    a = job["als"]
    als = ALS(userCol="user", itemCol="item", ratingCol="rating", **a)
    t = time.time()
    model = als.fit(df)
    # fit() leaves the factors cached and counted; counting again is cheap and makes the
    # timing include every iteration whatever Spark's version does lazily.
    users, items = model.userFactors.count(), model.itemFactors.count()
    fit_seconds = time.time() - t
    emit("fit", seconds=round(fit_seconds, 3), users=users, items=items, rank=model.rank, jvm_peak_rss_mb=jvm_peak_rss_mb(spark))

    t = time.time()
    model.write().overwrite().save(job["model"])
    emit("saved", path=job["model"], seconds=round(time.time() - t, 3))
    emit("done", spark=spark.version, fit_seconds=round(fit_seconds, 3), seconds=round(time.time() - started, 3), jvm_peak_rss_mb=jvm_peak_rss_mb(spark))
    spark.stop()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SystemExit:
        raise
    except BaseException as e:  # one coded line for cf-native; the traceback goes to the log
        traceback.print_exc()
        text = str(e).strip()
        lines = [l.strip() for l in text.splitlines() if l.strip()]
        first = lines[0] if lines else ""
        # A JVM error (Py4JJavaError) says only which call failed on its first line; the Java
        # exception follows on a line starting with ": ", and its cause further down.
        java = [l.lstrip(": ") for l in lines if l.startswith(": ") or l.startswith("Caused by: ")]
        if java:
            first = f"{first} {java[0]}" + (f" (caused by {java[-1][len('Caused by: '):]})" if len(java) > 1 and java[-1].startswith("Caused by: ") else "")
        emit("error", code="ERR_CF_SPARK", message=f"{type(e).__name__}: {first}"[:1000])
        sys.exit(1)
