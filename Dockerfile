# qnncc in a container.
#
#   docker build -t qnncc .                       runtime image: `docker run --rm qnncc` runs the demo,
#   docker run --rm -v "$PWD":/data qnncc qnncc build /data/model.onnx -o /data/build
#   make docker                                   builds the `test` stage and runs the CI tests in it
#
# Stages: `base` (Python, g++ and make for the C++ simulation, the sources), `test` (qnncc
# installed with its test and notebook dependencies, the tests, notebooks and golden data;
# runs `pytest -m "not slow"`), and the default `runtime` (qnncc only, as an unprivileged user).
FROM python:3.11-slim AS base

# g++ and make: C++ simulation (cppsim) of the generated HLS code; clang: its syntax check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ make clang \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/qnncc
COPY setup.cfg pyproject.toml README.md ./
COPY src ./src
COPY transforms ./transforms
COPY hls_templates ./hls_templates

FROM base AS test
# Editable, so the tests and notebooks find the repository layout (tests/data beside src/).
RUN pip install --no-cache-dir -e '.[dev]'
COPY ruff.toml Makefile ./
COPY tests ./tests
COPY benchmarks ./benchmarks
COPY notebooks ./notebooks
COPY docs ./docs
RUN useradd --create-home qnncc && chown -R qnncc /opt/qnncc
USER qnncc
ENV QNNCC_CACHE_DIR=/home/qnncc/.cache/qnncc/cppsim MPLBACKEND=Agg
CMD ["python", "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"]

FROM base AS runtime
RUN pip install --no-cache-dir . && rm -rf /opt/qnncc/build
RUN useradd --create-home qnncc
USER qnncc
WORKDIR /home/qnncc
# matplotlib's font cache, built once here rather than by every container's first build (plots).
ENV MPLBACKEND=Agg
RUN python -c "import matplotlib.font_manager"
CMD ["qnncc", "demo"]
