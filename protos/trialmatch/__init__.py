"""Generated gRPC/protobuf code for the trialmatch API (from protos/trialmatch/v1/*.proto)."""
