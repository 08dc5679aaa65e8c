/// `GET /openapi.json`: every route of `graft serve`, in OpenAPI 3.0, with the request bodies
/// the server accepts (OpenAI's fields, and the `adapters` extension) and its error object.
/// schemathesis fuzzes the server from this document.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "graft serve",
    "version": "1.0.0",
    "description": "OpenAI-compatible completions over one base model and many LoRA adapters. The adapter is chosen by `model` (`sql`, `sql@3`, `sql@prod`), or by the `adapters` extension: a list of {model, scale} summed over the base (then `model` is the base). A response's `model` names the version that served it. Timings of each request are in the `Server-Timing` header and in `usage.timings`."
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
          "message": {"type": "string"}, "type": {"type": "string"},
          "param": {"type": "string", "nullable": true}, "code": {"type": "string", "nullable": true}}}}
      },
      "Stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 16}]},
      "AdapterMix": {
        "type": "array", "maxItems": 8,
        "description": "Graft extension: adapters summed over the base, each with its scale (0 is the base).",
        "items": {"type": "object", "required": ["model"], "properties": {
          "model": {"type": "string", "description": "sql, sql@3 or sql@prod"},
          "scale": {"type": "number", "minimum": -16, "maximum": 16, "default": 1}}}
      },
      "Sampling": {
        "type": "object",
        "properties": {
          "max_tokens": {"type": "integer", "minimum": 1},
          "max_completion_tokens": {"type": "integer", "minimum": 1},
          "temperature": {"type": "number", "minimum": 0, "maximum": 2, "default": 1},
          "top_p": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "default": 1},
          "top_k": {"type": "integer", "minimum": -1, "description": "vLLM extension; -1 or 0 keeps all"},
          "min_p": {"type": "number", "minimum": 0, "maximum": 1},
          "repetition_penalty": {"type": "number", "minimum": 0.01, "maximum": 10},
          "seed": {"type": "integer"},
          "stop": {"$ref": "#/components/schemas/Stop"},
          "stream": {"type": "boolean", "default": false},
          "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
          "user": {"type": "string", "description": "Places the request in a rollout: one user sees one version."},
          "n": {"type": "integer", "enum": [1]},
          "ignore_eos": {"type": "boolean", "default": false, "description": "vLLM extension: generate max_tokens tokens whatever the model says"},
          "adapters": {"$ref": "#/components/schemas/AdapterMix"}
        }
      },
      "Usage": {
        "type": "object",
        "properties": {
          "prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"},
          "timings": {"type": "object", "description": "Graft extension: the server's own timings of this request, in seconds",
            "properties": {"queue_seconds": {"type": "number"}, "prefill_seconds": {"type": "number"}, "decode_seconds": {"type": "number"},
                           "time_to_first_token_seconds": {"type": "number"}, "total_seconds": {"type": "number"}}}
        }
      },
      "ChatRequest": {
        "allOf": [{"$ref": "#/components/schemas/Sampling"}, {
          "type": "object",
          "required": ["model", "messages"],
          "properties": {
            "model": {"type": "string"},
            "messages": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["role", "content"], "properties": {
              "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
              "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object", "required": ["type", "text"],
                "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}}}}]}}}}
          }}]
      },
      "CompletionRequest": {
        "allOf": [{"$ref": "#/components/schemas/Sampling"}, {
          "type": "object",
          "required": ["model", "prompt"],
          "properties": {
            "model": {"type": "string"},
            "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer", "minimum": 0}}]}
          }}]
      },
      "ChatCompletion": {
        "type": "object",
        "required": ["id", "object", "created", "model", "choices", "usage"],
        "properties": {
          "id": {"type": "string"}, "object": {"type": "string", "enum": ["chat.completion"]}, "created": {"type": "integer"},
          "model": {"type": "string"},
          "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"},
            "message": {"type": "object", "properties": {"role": {"type": "string"}, "content": {"type": "string"}}},
            "finish_reason": {"type": "string"}}}},
          "usage": {"$ref": "#/components/schemas/Usage"}
        }
      },
      "Completion": {
        "type": "object",
        "required": ["id", "object", "created", "model", "choices", "usage"],
        "properties": {
          "id": {"type": "string"}, "object": {"type": "string", "enum": ["text_completion"]}, "created": {"type": "integer"},
          "model": {"type": "string"},
          "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "text": {"type": "string"},
            "finish_reason": {"type": "string"}}}},
          "usage": {"$ref": "#/components/schemas/Usage"}
        }
      },
      "Rollout": {
        "type": "object", "required": ["versions"],
        "properties": {"versions": {"type": "object", "description": "version number → weight, e.g. {\"3\": 90, \"4\": 10}", "example": {"1": 90, "2": 10},
          "additionalProperties": {"type": "number", "minimum": 0}}}
      }
    },
    "responses": {
      "Error": {"description": "An error in OpenAI's shape", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/v1/chat/completions": {"post": {
      "summary": "A chat completion (streamed as server-sent events with stream: true)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}}},
      "responses": {
        "200": {"description": "The completion", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
                                                             "text/event-stream": {"schema": {"type": "string"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
        "429": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/completions": {"post": {
      "summary": "A text completion (streamed as server-sent events with stream: true)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionRequest"}}}},
      "responses": {
        "200": {"description": "The completion", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Completion"}},
                                                             "text/event-stream": {"schema": {"type": "string"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
        "429": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/models": {"get": {"summary": "The base and each adapter (name and version) as model ids, parent the base",
      "responses": {"200": {"description": "A list", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": {"$ref": "#/components/responses/Error"}}}},
    "/v1/models/{model}": {"get": {"summary": "One model id",
      "parameters": [{"name": "model", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sql"}],
      "responses": {"200": {"description": "The model", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/adapters": {
      "get": {"summary": "Adapters in memory, pinned ones, rollouts and the cache's counters",
        "responses": {"200": {"description": "The adapters", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "401": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Load and pin a registry version ({\"model\": \"sql@4\"}) or a folder under a name ({\"path\": DIR, \"model\": NAME})",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
          "model": {"type": "string"}, "path": {"type": "string"}}}}}},
        "responses": {"201": {"description": "Loaded", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                      "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}}},
    "/v1/adapters/{ref}": {"delete": {"summary": "Unload once the requests running on it finish",
      "parameters": [{"name": "ref", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sql@1"}],
      "responses": {"200": {"description": "Unloaded", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/adapters/{name}/rollout": {
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sql"}],
      "get": {"summary": "The rollout of a name", "responses": {
        "200": {"description": "Weights", "content": {"application/json": {"schema": {"type": "object"}}}},
        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Send requests for the name to versions by weight, sticky per user",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rollout"}}}},
        "responses": {"200": {"description": "Set", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                      "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Remove the rollout (the name serves its newest version again)", "responses": {
        "200": {"description": "Removed", "content": {"application/json": {"schema": {"type": "object"}}}},
        "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/adapters/{name}/rollout/promote": {"post": {"summary": "All traffic to the newest version of the rollout (or {\"version\": N})",
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sql"}],
      "responses": {"200": {"description": "Promoted", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/adapters/{name}/rollout/rollback": {"post": {"summary": "All traffic back to the oldest version of the rollout (or {\"version\": N})",
      "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "sql"}],
      "responses": {"200": {"description": "Rolled back", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
      "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/health": {"get": {"summary": "Alive", "security": [],
      "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/ready": {"get": {"summary": "Model loaded and not draining", "security": [],
      "responses": {"200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "503": {"description": "Draining", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [],
      "responses": {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
  }
}
"""#
}
