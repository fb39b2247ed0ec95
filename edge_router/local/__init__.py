"""The local stack: DynamoDB, API Gateway and CloudFront emulators on loopback (not packaged for Lambda)."""
