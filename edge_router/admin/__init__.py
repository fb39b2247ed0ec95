"""Administration of the version mapping table: the logic behind ``edge-router mappings`` and ``resolve``.

Never imported by the router modules: the Lambda@Edge artifact does not contain this package.
"""
