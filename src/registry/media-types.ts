// Media types of Sovereign's model artifacts and of the OCI objects that carry them.
// OCI image-spec v1.1 manifest.md "Guidelines for Artifact Usage": an artifact is an image
// manifest with an `artifactType` of its own and a config blob of its own media type (or the
// empty descriptor); layers are the artifact's files.

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** image-spec v1.1 manifest.md, "Guidance for an Empty Descriptor". */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** A Sovereign model: the manifest's artifactType. */
export const MODEL_ARTIFACT_TYPE = 'application/vnd.sovereign.model.v1';
/** The model's config blob: name, version, licence, training-data provenance, runtime. */
export const MODEL_CONFIG = 'application/vnd.sovereign.model.config.v1+json';
/** One model file (a layer); its path in the model directory is the title annotation. */
export const MODEL_FILE = 'application/vnd.sovereign.model.file.v1';

/** A DSSE envelope (in-toto attestation framework, "Envelope" layer); also the signature referrer's artifactType. */
export const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
/** in-toto Statement v1 as DSSE payloadType. */
export const IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json';

/** image-spec annotations.md: the file name of a layer, the tag of a manifest in an image layout index. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const ANNOTATION_LICENSES = 'org.opencontainers.image.licenses';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
