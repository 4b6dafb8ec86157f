/** Small constructors for rule outcomes, so every rule reads as the requirement it checks. */
import type { RequirementOutcome } from '../model.js';

export const met = (evidence: string, advice = ''): RequirementOutcome => ({ status: 'met', evidence, advice });
export const notMet = (evidence: string, advice: string): RequirementOutcome => ({ status: 'not-met', evidence, advice });
export const notApplicable = (evidence: string): RequirementOutcome => ({ status: 'not-applicable', evidence, advice: '' });
