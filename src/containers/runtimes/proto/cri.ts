/**
 * The part of the Kubernetes Container Runtime Interface (package runtime.v1, cri-api's
 * pkg/apis/runtime/v1/api.proto) that ktrail calls on CRI-O, as proto3 source. Only the methods, messages and
 * fields ktrail uses are declared, with the upstream names, field numbers and types; a field left out here is
 * skipped when decoding. Parsed at first use by protobufjs (grpc.ts).
 */
export const CRI_PROTO: readonly string[] = [
  `syntax = "proto3";
package runtime.v1;

service RuntimeService {
  rpc PodSandboxStatus(PodSandboxStatusRequest) returns (PodSandboxStatusResponse) {}
  rpc ListPodSandbox(ListPodSandboxRequest) returns (ListPodSandboxResponse) {}
  rpc ListContainers(ListContainersRequest) returns (ListContainersResponse) {}
  rpc ContainerStatus(ContainerStatusRequest) returns (ContainerStatusResponse) {}
}

message PodSandboxMetadata {
  string name = 1;
  string uid = 2;
  string namespace = 3;
  uint32 attempt = 4;
}

enum PodSandboxState {
  SANDBOX_READY = 0;
  SANDBOX_NOTREADY = 1;
}

message PodSandboxStatusRequest {
  string pod_sandbox_id = 1;
  bool verbose = 2;
}

message PodSandboxStatus {
  string id = 1;
  PodSandboxMetadata metadata = 2;
  PodSandboxState state = 3;
  map<string, string> labels = 7;
  map<string, string> annotations = 8;
}

message PodSandboxStatusResponse {
  PodSandboxStatus status = 1;
}

message PodSandboxStateValue {
  PodSandboxState state = 1;
}

message PodSandboxFilter {
  string id = 1;
  PodSandboxStateValue state = 2;
}

message ListPodSandboxRequest {
  PodSandboxFilter filter = 1;
}

message PodSandbox {
  string id = 1;
  PodSandboxState state = 3;
}

message ListPodSandboxResponse {
  repeated PodSandbox items = 1;
}

message ImageSpec {
  string image = 1;
}

enum ContainerState {
  CONTAINER_CREATED = 0;
  CONTAINER_RUNNING = 1;
  CONTAINER_EXITED = 2;
  CONTAINER_UNKNOWN = 3;
}

message ContainerMetadata {
  string name = 1;
  uint32 attempt = 2;
}

message ContainerStateValue {
  ContainerState state = 1;
}

message ContainerFilter {
  string id = 1;
  ContainerStateValue state = 2;
}

message ListContainersRequest {
  ContainerFilter filter = 1;
}

message Container {
  string id = 1;
  string pod_sandbox_id = 2;
  ContainerState state = 6;
}

message ListContainersResponse {
  repeated Container containers = 1;
}

message ContainerStatusRequest {
  string container_id = 1;
  bool verbose = 2;
}

message ContainerStatus {
  string id = 1;
  ContainerMetadata metadata = 2;
  ContainerState state = 3;
  ImageSpec image = 8;
  string image_ref = 9;
  map<string, string> labels = 12;
  map<string, string> annotations = 13;
}

message ContainerStatusResponse {
  ContainerStatus status = 1;
}
`,
];
