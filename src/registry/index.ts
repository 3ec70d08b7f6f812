// Public entry of the registry component: models as signed OCI artifacts, the golden registry
// they are published to, one-way replication by law into each region's own registry, and the
// verified load a cell does from its own region's registry only.
export { MODEL_ARTIFACT_TYPE, MODEL_CONFIG, MODEL_FILE, DSSE_ENVELOPE, OCI_MANIFEST, OCI_INDEX } from './media-types.ts';
export { RegistryError, type RegistryErrorCode } from './errors.ts';
export { buildModelArtifact, parseManifest, parseModelConfig, ModelConfigSchema, type ModelConfig, type Manifest, type Descriptor } from './artifact.ts';
export { sha256Digest, isDigest } from './digest.ts';
export { LayoutStore } from './layout.ts';
export { registerDistribution } from './server.ts';
export { RegistryClient, referrersTag, type ClientOptions } from './client.ts';
export type { RawConnect } from './blob-get.ts';
export { clientReader, layoutReader, type ArtifactReader } from './reader.ts';
export { signManifest, verifyEnvelope, loadOrCreateSigningKey, publisherKey, keyId, type PublisherKey } from './dsse.ts';
export { verifyArtifact, type VerifiedArtifact } from './verify.ts';
export { replicateIntoLayout, replicateIntoRegistry, type ReplicateOptions } from './replicate.ts';
export { publishModel, pushSignature, signatureManifest, type Published } from './publish.ts';
export { materializeModel, type LoadedModel } from './materialize.ts';
export { startGolden, type RunningGolden } from './golden.ts';
export { startRegionRegistry, checkOwnRegistry, registerTransferRoute, type RegionRegistry, type ActiveRelease } from './region.ts';
export { promoteRelease, orderPull, type PromotionOutcome } from './promote.ts';
export { goldenUrl, goldenDataDir, goldenRegion, regionRegistryUrl, regionAdminUrl, regionRegistryDir, registryToken, externalRegistryToken, publisherKeyFile, trustedPublishers } from './endpoints.ts';
export { registryConnect, registryDispatcher, registryHttpServer, registryScheme, registryId, openRegistryMesh, openOperatorMesh, closeRegistryClients, OPERATOR_SVID_TTL_SECONDS, type RegistryRole } from './transport.ts';
export { goldenClient, regionRegistryClient, regionOrders } from './connect.ts';
