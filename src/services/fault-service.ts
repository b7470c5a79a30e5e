/**
 * `kinesis.gateway.v1.FaultService`: the fault rules at runtime. A request's
 * JSON form is the `--faults` file's shape, so one parser checks both
 * (`faults/rules.ts`). Off unless the gateway was started with fault control;
 * with tokens configured, only a `scope:admin` token may call it.
 */
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { FaultInjector } from "../faults/injector.ts";
import { type FaultRuleSet, FaultRulesError, parseFaultRules } from "../faults/rules.ts";
import {
  type FaultService,
  GetFaultsResponseSchema,
  SetFaultsRequestSchema,
  SetFaultsResponseSchema,
} from "../gen/kinesis/gateway/v1/faults_pb.ts";
import { principalKey } from "./auth-interceptor.ts";

export interface FaultServiceOptions {
  readonly injector: FaultInjector;
  /** `--fault-control on`: the rules may be changed at runtime. */
  readonly control: boolean;
  readonly logger?: Logger | undefined;
}

/** The rule set as its JSON form: what the answers carry. */
const asJson = (ruleSet: FaultRuleSet | undefined): JsonValue =>
  (ruleSet === undefined ? { rules: [] } : ruleSet) as unknown as JsonValue;

export function createFaultService(options: FaultServiceOptions): ServiceImpl<typeof FaultService> {
  const { injector, logger } = options;

  function allow(ctx: HandlerContext): void {
    if (!options.control) {
      throw new ConnectError(
        "fault control is off: start the gateway with --fault-control on (or --faults FILE)",
        Code.FailedPrecondition,
      );
    }
    // The auth interceptor has refused a call without a valid token already.
    const principal = ctx.values.get(principalKey);
    if (principal !== undefined && !principal.admin) {
      throw new ConnectError(
        "this token may not change fault rules: give it the scope:admin entry",
        Code.PermissionDenied,
      );
    }
  }

  return {
    setFaults(request, ctx) {
      allow(ctx);
      let ruleSet: FaultRuleSet;
      try {
        // Every field, zeros too: a rate of 0 is a rate given.
        ruleSet = parseFaultRules(
          toJson(SetFaultsRequestSchema, request, { alwaysEmitImplicit: true }),
        );
      } catch (err) {
        if (!(err instanceof FaultRulesError)) throw err;
        throw new ConnectError(`invalid fault rules: ${err.message}`, Code.InvalidArgument);
      }
      injector.set(ruleSet);
      logger?.info({ seed: ruleSet.seed, rules: ruleSet.rules.length }, "fault rules set");
      return fromJson(
        SetFaultsResponseSchema,
        asJson(injector.ruleSet ?? { ...ruleSet, rules: [] }),
      );
    },
    getFaults(_request, ctx) {
      allow(ctx);
      return fromJson(GetFaultsResponseSchema, asJson(injector.ruleSet));
    },
    clearFaults(_request, ctx) {
      allow(ctx);
      injector.clear();
      logger?.info("fault rules cleared");
      return {};
    },
  };
}
