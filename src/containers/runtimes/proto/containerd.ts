/**
 * The part of containerd's gRPC API that ktrail calls, as proto3 source, one string per upstream file. Only
 * the services, methods, messages and fields ktrail uses are declared; packages, names, field numbers and types
 * are those of containerd's api/ tree (containerd 1.6 to 2.x), so the wire format is the real one. A field
 * left out here is skipped when decoding. Parsed at first use by protobufjs (grpc.ts); kept as TypeScript so
 * the compiled package carries it without extra files.
 *
 * Every call but namespaces' List needs the `containerd-namespace` request header.
 */
export const CONTAINERD_PROTO: readonly string[] = [
  // api/services/namespaces/v1/namespace.proto
  `syntax = "proto3";
package containerd.services.namespaces.v1;

service Namespaces {
  rpc List(ListNamespacesRequest) returns (ListNamespacesResponse);
}

message Namespace {
  string name = 1;
}

message ListNamespacesRequest {
  string filter = 1;
}

message ListNamespacesResponse {
  repeated Namespace namespaces = 1;
}
`,
  // api/services/containers/v1/containers.proto
  `syntax = "proto3";
package containerd.services.containers.v1;

service Containers {
  rpc Get(GetContainerRequest) returns (GetContainerResponse);
}

message Container {
  string id = 1;
  map<string, string> labels = 2;
  string image = 3;
}

message GetContainerRequest {
  string id = 1;
}

message GetContainerResponse {
  Container container = 1;
}
`,
  // api/types/descriptor.proto
  `syntax = "proto3";
package containerd.types;

message Descriptor {
  string media_type = 1;
  string digest = 2;
  int64 size = 3;
}
`,
  // api/services/images/v1/images.proto
  `syntax = "proto3";
package containerd.services.images.v1;

service Images {
  rpc Get(GetImageRequest) returns (GetImageResponse);
}

message Image {
  string name = 1;
  containerd.types.Descriptor target = 3;
}

message GetImageRequest {
  string name = 1;
}

message GetImageResponse {
  Image image = 1;
}
`,
  // api/types/task/task.proto
  `syntax = "proto3";
package containerd.v1.types;

enum Status {
  UNKNOWN = 0;
  CREATED = 1;
  RUNNING = 2;
  STOPPED = 3;
  PAUSED = 4;
  PAUSING = 5;
}

message Process {
  string container_id = 1;
  string id = 2;
  uint32 pid = 3;
  Status status = 4;
}
`,
  // api/services/tasks/v1/tasks.proto
  `syntax = "proto3";
package containerd.services.tasks.v1;

service Tasks {
  rpc List(ListTasksRequest) returns (ListTasksResponse);
}

message ListTasksRequest {
  string filter = 1;
}

message ListTasksResponse {
  repeated containerd.v1.types.Process tasks = 1;
}
`,
];

/** containerd's gRPC request header that selects the namespace (pkg/namespaces GRPCHeader). */
export const NAMESPACE_HEADER = 'containerd-namespace';
