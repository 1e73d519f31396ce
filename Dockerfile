# billsync as a container: one run of the daily job per start, on the workspace mounted at /workspace.
#   docker build -t billsync .
#   docker run --rm -v "$PWD:/workspace" --env-file autotask.env billsync run --auto-approve --json
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 billsync

WORKDIR /opt/billsync
COPY pyproject.toml README.md ./
COPY engine engine
COPY providers providers
COPY rules rules
COPY deploy deploy
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER 10001
WORKDIR /workspace
ENTRYPOINT ["billsync"]
CMD ["run", "--auto-approve", "--json"]
