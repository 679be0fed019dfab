// Renders the .glb at `model` (default /model/0.glb) with three.js once and sets window.svfriResult = {ok, ...} when the frame is drawn.
//
// Query parameters:
//   model               URL of the .glb
//   width, height       canvas size in pixels
//   left, right, top, bottom   orthographic frustum in metres (the camera looks down -Z from +Z)
//   lighting            "constant": a uniform environment of linear radiance `radiance` (scene.environment,
//                       prefiltered by three.js's PMREM) -- the same light as svfri's relight of a constant map;
//                       "studio": three.js's RoomEnvironment + ACES filmic tone mapping + grey background
//                       (a presentation picture, not a comparison)
//   radiance            linear radiance of the constant environment (default 1)
//                       "gradient": an environment of radiance `radiance + slope * y` (y the up component of the
//                       direction towards the light), so the shading depends on the normal (and the normal map)
//   slope               the gradient's radiance change per unit of y (default 0)
//   yaw                 turn the model about +Y by this many degrees (default 0)
//   morph               morph-target weights to set before rendering, "name:weight,name:weight" (ARKit names of
//                       the ICT head's targets), on every mesh whose morphTargetDictionary has the name; the
//                       others keep the file's default weights (mesh.weights). An unknown name fails the render.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';

const query = new URLSearchParams(window.location.search);
const number = (name, fallback) => (query.has(name) ? Number(query.get(name)) : fallback);

async function main() {
  const width = number('width', 512);
  const height = number('height', 512);
  const lighting = query.get('lighting') || 'constant';

  const renderer = new THREE.WebGLRenderer({ antialias: false, alpha: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(width, height);
  renderer.outputColorSpace = THREE.SRGBColorSpace;   // linear radiance -> sRGB, like svfri's PNGs
  renderer.setClearColor(0x000000, 0);
  document.body.appendChild(renderer.domElement);

  const scene = new THREE.Scene();
  if (lighting === 'constant' || lighting === 'gradient') {
    renderer.toneMapping = THREE.NoToneMapping;
    const radiance = number('radiance', 1.0);
    const slope = lighting === 'gradient' ? number('slope', 0.0) : 0.0;
    const [columns, rows] = [64, 32];
    const texels = new Float32Array(columns * rows * 4);
    for (let row = 0; row < rows; row++) {
      // three.js equirect: texture row 0 (v = 0) is the bottom, y = sin(pi (v - 1/2)).
      const value = radiance + slope * Math.sin(Math.PI * ((row + 0.5) / rows - 0.5));
      for (let column = 0; column < columns; column++) texels.set([value, value, value, 1], 4 * (row * columns + column));
    }
    const environment = new THREE.DataTexture(texels, columns, rows, THREE.RGBAFormat, THREE.FloatType);
    environment.mapping = THREE.EquirectangularReflectionMapping;
    environment.colorSpace = THREE.LinearSRGBColorSpace;
    environment.needsUpdate = true;
    scene.environment = environment;
  } else if (lighting === 'studio') {
    renderer.toneMapping = THREE.ACESFilmicToneMapping;
    const pmrem = new THREE.PMREMGenerator(renderer);
    scene.environment = pmrem.fromScene(new RoomEnvironment(), 0.04).texture;
    scene.background = new THREE.Color(0x6b6b6b);
  } else {
    throw new Error(`unknown lighting ${lighting}`);
  }

  const camera = new THREE.OrthographicCamera(number('left', -0.1), number('right', 0.1), number('top', 0.1),
                                              number('bottom', -0.1), 0.01, 10.0);
  camera.position.set(0, 0, 2);
  camera.lookAt(0, 0, 0);

  const gltf = await new GLTFLoader().loadAsync(query.get('model') || '/model/0.glb');
  gltf.scene.rotation.y = THREE.MathUtils.degToRad(number('yaw', 0));
  scene.add(gltf.scene);
  const morphs = (query.get('morph') || '').split(',').filter(Boolean).map((pair) => {
    const [name, weight] = pair.split(':');
    return [name, Number(weight)];
  });
  const meshes = [];
  gltf.scene.traverse((node) => { if (node.isMesh) meshes.push(node); });
  for (const [name, weight] of morphs) {
    const owners = meshes.filter((mesh) => mesh.morphTargetDictionary && name in mesh.morphTargetDictionary);
    if (owners.length === 0) throw new Error(`no mesh has a morph target named ${name}`);
    for (const mesh of owners) mesh.morphTargetInfluences[mesh.morphTargetDictionary[name]] = weight;
  }
  const materials = [];
  gltf.scene.traverse((node) => {
    if (node.isMesh) {
      const m = node.material;
      materials.push({ type: m.type, hasTangents: node.geometry.hasAttribute('tangent'),
                       specularIntensity: m.specularIntensity, specularColor: m.specularColor?.toArray(),
                       hasSpecularColorMap: !!m.specularColorMap, ior: m.ior, roughness: m.roughness,
                       metalness: m.metalness, hasMap: !!m.map, hasNormalMap: !!m.normalMap,
                       normalScale: m.normalScale?.toArray(),
                       mapColorSpace: m.map?.colorSpace, normalMapColorSpace: m.normalMap?.colorSpace,
                       name: m.name, vertices: node.geometry.getAttribute('position').count,
                       morphPositions: node.geometry.morphAttributes.position?.length || 0,
                       morphNormals: node.geometry.morphAttributes.normal?.length || 0,
                       morphTargetNames: node.morphTargetDictionary ? Object.keys(node.morphTargetDictionary) : [],
                       morphTargetInfluences: node.morphTargetInfluences ? Array.from(node.morphTargetInfluences) : [] });
    }
  });
  renderer.render(scene, camera);
  const gl = renderer.getContext();
  window.svfriResult = { ok: true, materials, webgl: gl.getParameter(gl.VERSION),
                         renderer: gl.getParameter(gl.RENDERER) };
}

main().catch((error) => { window.svfriResult = { ok: false, error: String(error && error.stack || error) }; });
