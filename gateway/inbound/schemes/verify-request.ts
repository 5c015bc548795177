import { verifyBasic } from './basic-scheme.js';
import { verifyGithub } from './github-scheme.js';
import { verifyHeaderToken } from './header-token-scheme.js';
import { verifyHmac } from './hmac-scheme.js';
import { verifyShopify } from './shopify-scheme.js';
import { verifyStandardWebhooks } from './standard-webhooks-scheme.js';
import { verifyStripe } from './stripe-scheme.js';
import type { VerificationConfig, VerificationInput, VerificationResult } from './verification.js';

/** Verifies one inbound request with its source's scheme. Pure: reads nothing but its input. */
export function verifyRequest(config: VerificationConfig, input: VerificationInput): VerificationResult {
  switch (config.scheme) {
    case 'stripe':
      return verifyStripe(input, config.toleranceMs);
    case 'github':
      return verifyGithub(input);
    case 'shopify':
      return verifyShopify(input);
    case 'standard-webhooks':
      return verifyStandardWebhooks(input, config.toleranceMs);
    case 'hmac':
      return verifyHmac(input, config);
    case 'basic':
      return verifyBasic(input);
    case 'header-token':
      return verifyHeaderToken(input, config);
  }
}
