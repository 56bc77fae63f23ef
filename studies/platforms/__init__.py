"""Small clients of the crowd platforms' APIs: Prolific (HTTP) and MTurk (boto3)."""
