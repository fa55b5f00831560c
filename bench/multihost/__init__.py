"""Workers on several hosts, for real: three Linux network namespaces on this machine joined by a
bridge. Host A runs PostgreSQL, Redis, the web, beat and an S3-compatible object store
(SeaweedFS); hosts B and C run CPU and inference workers that reach A only over the bridge.
`python -m bench.multihost` measures images/s with workers on B only vs on B and C and the
recovery after every process of C is killed; tests/test_multihost.py holds the same cluster to
"nothing lost, nothing duplicated"."""
