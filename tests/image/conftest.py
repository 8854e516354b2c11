"""The image tests build and run the Docker image; they take minutes and need a container engine,
so `make test` leaves them out and `make image-test` (which sets AIRDATE_IMAGE_TEST=1) runs them."""

import os

if os.environ.get("AIRDATE_IMAGE_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]
