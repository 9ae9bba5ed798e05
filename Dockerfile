# qnncc in a container: `docker build -t qnncc .` then `docker run --rm qnncc` runs the demo,
# `docker run --rm -v "$PWD":/data qnncc qnncc inspect /data/model.onnx` inspects a model.
FROM python:3.11-slim

# g++ and make: C++ simulation (cppsim) of the generated HLS code.
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/qnncc
COPY setup.cfg pyproject.toml README.md ./
COPY src ./src
COPY transforms ./transforms
COPY hls_templates ./hls_templates
RUN pip install --no-cache-dir .

RUN useradd --create-home qnncc
USER qnncc
WORKDIR /home/qnncc
CMD ["qnncc", "demo"]
