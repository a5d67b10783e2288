"""Dask leg of scripts/bench-throughput.sh: predict the saved fit's test table on a
LocalCluster of 2 worker processes (1 thread each) with tabpfn_rs.distributed.predict_dask.

  python throughput_dask.py DIR ROWS
      reads DIR/fit.safetensors (model target/bench/full_clf.ckpt) and DIR/test-ROWS.parquet;
      prints wall time, rows/s and the largest worker's peak RSS, and checks the result
      against DIR/pred-ROWS.parquet (the CLI's output from the same Parquet file), bit for bit
      in float32
"""

import resource
import sys
import time


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster

    from tabpfn_rs import TabPFNClassifier
    from tabpfn_rs.distributed import predict_dask

    d, n = sys.argv[1], int(sys.argv[2])
    est = TabPFNClassifier.load(f"{d}/fit.safetensors", model_path="target/bench/full_clf.ckpt")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, env={"RAYON_NUM_THREADS": "1"}) as cl, \
            Client(cl) as c:
        t = time.perf_counter()
        ddf = dd.read_parquet(f"{d}/test-{n}.parquet").repartition(npartitions=8)
        feats = [c for c in ddf.columns if c != "id"]
        out = predict_dask(est, ddf, method="predict_proba", columns=feats).compute()
        secs = time.perf_counter() - t
        rss = max(c.run(peak_rss_kb).values())
    # the CLI's Parquet output: the same float32 inputs (its CSV run parses decimal text,
    # which is not the float32 value the Parquet file holds)
    cli = pd.read_parquet(f"{d}/pred-{n}.parquet")
    cols = [c for c in cli.columns if c.startswith("proba_")]  # class order, as the output
    # the CLI writes each float32 probability as the double of its shortest decimal, which
    # reads back to the same float32: compare in float32, bit for bit
    a, b = out.to_numpy(np.float32), cli[cols].to_numpy(np.float32)
    same = "bit-identical to the CLI" if np.array_equal(a, b) else (
        f"max |Δ| vs the CLI {float(np.abs(a - b).max()):.1e}")
    print(f"{'dask 2 workers':<22} {n:8d} rows  wall {secs:8.1f} s  {n / secs:8.0f} rows/s  "
          f"peak RSS {rss // 1024:6d} MB (largest worker); {same}")

if __name__ == "__main__":
    main()
