import type { PlanSources } from '../plan/plan.js';
import { SERVER_CERTIFICATE_PATH } from '../tentacle/registration.js';
import { externalSafetyProblems } from './external/safety.js';
import { ROUTES } from './routes/route-registry.js';

/** What planScenario reads besides the scenario: the route definitions and the external safety rules. */
export const PLAN_SOURCES: PlanSources = { routes: ROUTES, externalSafetyProblems, serverCertificatePath: SERVER_CERTIFICATE_PATH };
