"""The official MCP Python SDK against tessera's /mcp: connect over
Streamable HTTP, list the surface, then upload -> wait -> caption (the fake
vision model) -> public URL -> delete, and the refusals an agent meets.

Run through .ci/clients (it sets TESSERA_URL, TESSERA_API_KEY, and starts the
fake vision model tessera captions with).
"""

import asyncio
import base64
import hashlib
import os
import pathlib
import sys
import urllib.request

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

URL = os.environ["TESSERA_URL"]
KEY = os.environ["TESSERA_API_KEY"]
FIXTURE = pathlib.Path(__file__).parent.parent / "fixtures" / "images" / "normal" / "rocket_falcon9.jpg"
TOOLS = {
    "get_asset", "list_assets", "patch_asset", "list_skills", "get_asset_content_url",
    "upload_asset", "upload_asset_from_url", "run_asset_skill", "wait_for_asset",
    "delete_asset", "batch_delete_assets", "get_asset_usage_stats", "list_storage_profiles",
    "create_storage_profile", "update_storage_profile", "delete_storage_profile",
}


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    return result, result.structured_content or {}


async def scenario():
    headers = {"authorization": f"Bearer {KEY}"}
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(f"{URL}/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                init = await session.initialize()
                check(init.server_info.name == "tessera", f"server name {init.server_info.name}")
                print("negotiated", init.protocol_version)

                tools = (await session.list_tools()).tools
                names = {tool.name for tool in tools}
                check(TOOLS <= names, f"missing tools: {TOOLS - names}")
                for tool in tools:
                    check(tool.output_schema is not None, f"{tool.name} has an output schema")
                templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
                check({"asset://{id}", "asset://{id}/derivatives", "asset://{id}/structured-results", "skill://{name}"} <= templates, templates)
                resources = {str(r.uri) for r in (await session.list_resources()).resources}
                check("skill://basic_image_enrich" in resources, resources)
                prompts = {p.name for p in (await session.list_prompts()).prompts}
                check({"inspect_asset", "enrich_asset", "review_asset_outputs"} <= prompts, prompts)

                # upload -> wait -> caption -> public URL -> delete
                data = FIXTURE.read_bytes()
                result, asset = await call(session, "upload_asset", {
                    "fileName": "rocket.jpg", "contentType": "image/jpeg",
                    "contentBase64": base64.b64encode(data).decode(), "isPublic": True,
                })
                check(not result.is_error, f"upload: {result.content}")
                check("storageKey" not in asset and "storageProvider" not in asset, asset.keys())
                check(asset["checksumSha256"] == hashlib.sha256(data).hexdigest(), "checksum")
                asset_id = asset["id"]
                _, waited = await call(session, "wait_for_asset", {"id": asset_id, "timeoutSeconds": 60})
                check(waited["settled"] and waited["asset"]["status"] == "ready", waited)

                result, run = await call(session, "run_asset_skill", {"assetId": asset_id, "skillName": "ai-caption"})
                check(not result.is_error and run["succeeded"], f"caption: {run}")
                _, captioned = await call(session, "get_asset", {"id": asset_id})
                captions = [r for r in captioned["structuredResults"] if r["kind"] == "basic_caption"]
                check(captions and "test image" in str(captions[-1]), captioned["structuredResults"])

                _, link = await call(session, "get_asset_content_url", {"id": asset_id})
                with urllib.request.urlopen(link["contentUrl"]) as response:
                    check(response.read() == data, "the public link serves the original")

                read = await session.read_resource(f"asset://{asset_id}")
                check(asset_id in read.contents[0].text and "storageKey" not in read.contents[0].text, "asset resource")
                thumbnail = await session.read_resource(f"asset://{asset_id}/thumbnail")
                check(thumbnail.contents[0].mime_type == "image/webp" and len(thumbnail.contents[0].blob) > 100, "thumbnail blob")
                prompt = await session.get_prompt("inspect_asset", {"assetId": asset_id})
                check("get_asset" in prompt.messages[0].content.text, "inspect_asset prompt")

                # Refusals are in-band with the REST code; an unknown tool is a protocol error.
                for arguments, code in [
                    ({"fileName": "x.png", "contentType": "image/png", "contentBase64": "***"}, "asset_base64_invalid"),
                    ({"fileName": "x.png", "contentType": "image/png"}, "tool_arguments_invalid"),
                    ({"fileName": "x.txt", "contentType": "text/plain", "contentBase64": base64.b64encode(b"hello").decode()}, "asset_content_type_not_allowed"),
                ]:
                    result, refused = await call(session, "upload_asset", arguments)
                    check(result.is_error and refused["error"]["code"] == code, f"{code}: {refused}")
                result, refused = await call(session, "upload_asset_from_url", {"url": f"{URL}/healthz"})
                check(result.is_error and refused["error"]["code"] == "asset_url_forbidden", refused)
                try:
                    await session.call_tool("no_such_tool", {})
                    check(False, "an unknown tool must fail")
                except MCPError as error:
                    check(error.error.code == -32602, error.error)

                _, deleted = await call(session, "delete_asset", {"id": asset_id})
                check(deleted["status"] == "deleted", deleted)
                result, gone = await call(session, "get_asset", {"id": asset_id})
                check(result.is_error and gone["error"]["code"] == "asset_not_found", gone)

    # Without credentials nothing runs.
    async with create_mcp_http_client() as anonymous:
        response = await anonymous.post(f"{URL}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                        headers={"accept": "application/json, text/event-stream"})
        check(response.status_code == 401, f"anonymous: {response.status_code}")


asyncio.run(scenario())
print("mcp python sdk: ok")
