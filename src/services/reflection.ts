/**
 * gRPC server reflection (`grpc.reflection.v1` and its first name,
 * `v1alpha`), answered from the descriptors compiled into src/gen, so that
 * grpcurl, `buf curl` and Postman can call the gateway without its .proto
 * files. Each file goes out with every file it imports, directly or not;
 * the protocol allows leaving out files already sent on the stream, which
 * saves little here.
 */
import {
  create,
  createRegistry,
  type DescFile,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** A file and the files it imports, directly or not, the file first. */
function withDependencies(file: DescFile): DescFile[] {
  const closure = new Set<DescFile>();
  const visit = (f: DescFile) => {
    if (closure.has(f)) return;
    closure.add(f);
    for (const dependency of f.dependencies) visit(dependency);
  };
  visit(file);
  return [...closure];
}

type Respond = (request: v1.ServerReflectionRequest) => v1.ServerReflectionResponse;

/** Answers reflection requests about `services` and the types they use. */
function createResponder(services: readonly DescService[]): Respond {
  const files = new Map<DescFile, Uint8Array>();
  for (const service of services) {
    for (const file of withDependencies(service.file)) {
      if (!files.has(file)) files.set(file, toBinary(FileDescriptorProtoSchema, file.proto));
    }
  }
  const filesByName = new Map([...files.keys()].map((file) => [file.proto.name, file]));
  const registry = createRegistry(...files.keys());

  /** The file defining a type, or a method, field or oneof of one. */
  const fileDefining = (symbol: string): DescFile | undefined => {
    const type = registry.get(symbol);
    if (type) return type.file;
    const dot = symbol.lastIndexOf(".");
    const parent = registry.get(symbol.slice(0, dot));
    const member = symbol.slice(dot + 1);
    if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) {
      return parent.file;
    }
    if (
      parent?.kind === "message" &&
      [...parent.fields, ...parent.oneofs].some((f) => f.name === member)
    ) {
      return parent.file;
    }
    return undefined;
  };

  const answer = (
    file: DescFile | undefined,
    notFound: string,
  ): v1.ServerReflectionResponse["messageResponse"] =>
    file
      ? {
          case: "fileDescriptorResponse",
          value: create(v1.FileDescriptorResponseSchema, {
            fileDescriptorProto: withDependencies(file).map((f) => files.get(f)!),
          }),
        }
      : {
          case: "errorResponse",
          value: create(v1.ErrorResponseSchema, {
            errorCode: Code.NotFound,
            errorMessage: notFound,
          }),
        };

  const messageResponse = (
    request: v1.ServerReflectionRequest["messageRequest"],
  ): v1.ServerReflectionResponse["messageResponse"] => {
    switch (request.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(v1.ListServiceResponseSchema, {
            service: services.map((s) => ({ name: s.typeName })),
          }),
        };
      case "fileByFilename":
        return answer(filesByName.get(request.value), `file "${request.value}" not found`);
      case "fileContainingSymbol":
        return answer(fileDefining(request.value), `symbol "${request.value}" not found`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const extendee = registry.getMessage(containingType);
        return answer(
          extendee && registry.getExtensionFor(extendee, extensionNumber)?.file,
          `extension ${extensionNumber} of "${containingType}" not found`,
        );
      }
      case "allExtensionNumbersOfType": {
        const typeName = request.value;
        if (!registry.getMessage(typeName))
          return answer(undefined, `type "${typeName}" not found`);
        const numbers = [...registry].flatMap((t) =>
          t.kind === "extension" && t.extendee.typeName === typeName ? [t.number] : [],
        );
        return {
          case: "allExtensionNumbersResponse",
          value: create(v1.ExtensionNumberResponseSchema, {
            baseTypeName: typeName,
            extensionNumber: numbers,
          }),
        };
      }
      case undefined:
        throw new ConnectError("the reflection request asks nothing", Code.InvalidArgument);
    }
  };

  return (request) =>
    create(v1.ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: messageResponse(request.messageRequest),
    });
}

/** v1alpha and v1 are the same messages under two package names. */
function recode<From extends DescMessage, To extends DescMessage>(
  from: From,
  to: To,
  message: MessageShape<From>,
): MessageShape<To> {
  return fromBinary(to, toBinary(from, message));
}

/**
 * Registers both versions of the reflection service on `router`. They
 * describe the services registered before them, and themselves: register
 * them last.
 */
export function registerReflection(
  router: ConnectRouter,
  options: { readMaxBytes?: number } = {},
): void {
  const services = new Map<string, DescService>();
  for (const service of [
    ...router.handlers.map((h) => h.service),
    v1.ServerReflection,
    v1alpha.ServerReflection,
  ]) {
    services.set(service.typeName, service);
  }
  const respond = createResponder([...services.values()]);

  router.service(
    v1.ServerReflection,
    {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) yield respond(request);
      },
    },
    options,
  );
  router.service(
    v1alpha.ServerReflection,
    {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          const v1Request = recode(
            v1alpha.ServerReflectionRequestSchema,
            v1.ServerReflectionRequestSchema,
            request,
          );
          yield recode(
            v1.ServerReflectionResponseSchema,
            v1alpha.ServerReflectionResponseSchema,
            respond(v1Request),
          );
        }
      },
    },
    options,
  );
}
