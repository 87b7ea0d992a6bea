# Python 3.11 on Debian bookworm from Debian's packages: what the api and bot images need of
# python:3.11-slim-bookworm (python, python3, venv with pip for the build stage).
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && ln -s python3 /usr/bin/python \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
ENV PYTHONDONTWRITEBYTECODE=1
CMD ["python3"]
