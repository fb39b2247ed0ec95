"""The CloudFormation custom resource that seeds the sample version mappings."""
