"""Generated gRPC stubs for the kubelet plugin protocols (see generate.sh).

Modules: ``pluginregistration_pb2`` (plugin registration), ``dra_v1_pb2`` /
``dra_v1beta1_pb2`` (DRAPlugin), ``dra_health_v1alpha1_pb2`` (health stream) and
``health_pb2`` (grpc.health.v1), each with its ``*_pb2_grpc`` service module.
"""
