"""Header-based API versioning router for CloudFront + Lambda@Edge + DynamoDB global tables."""

__version__ = "0.1.0"
